package io.pgmesh.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The deployment files agree with the archive they deploy: no Docker engine runs here to build
 * the image, so what can be checked without one is (the archive itself and the systemd unit are
 * run and verified by deploy/check-dist.sh in CI).
 */
class DeploymentMaterialTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir"));

    private static String read(String file) throws IOException {
        return Files.readString(ROOT.resolve(file));
    }

    @Test
    void theImageRunsTheArchivesLauncherAsANonRootUser() throws IOException {
        String docker = read("deploy/docker/Dockerfile");
        String assembly = read("src/assembly/dist.xml");
        assertTrue(assembly.contains("<id>dist</id>") && assembly.contains("<baseDirectory>pgmesh</baseDirectory>"),
                "the archive is pgmesh-dist.tar.gz with a pgmesh/ directory");
        assertTrue(docker.contains("ADD pgmesh-dist.tar.gz /opt/"), "the image unpacks the archive into /opt/pgmesh");
        assertTrue(docker.contains("ENTRYPOINT [\"/opt/pgmesh/bin/pgmesh\"]"), "the image starts the archive's launcher");
        Matcher user = Pattern.compile("(?m)^USER (\\S+)").matcher(docker);
        assertTrue(user.find(), "the image names its user");
        List<String> ids = List.of(user.group(1).split(":"));
        assertTrue(ids.stream().allMatch(id -> id.matches("[1-9][0-9]*")),
                "the user is numeric and not root (so runAsNonRoot can check it): " + user.group(1));
    }

    @Test
    void theUnitStartsTheArchivesLauncherAndDoesNotLoopOnABrokenMeshFile() throws IOException {
        String unit = read("deploy/systemd/pgmesh.service");
        assertTrue(unit.contains("ExecStart=/opt/pgmesh/bin/pgmesh run -c /etc/pgmesh/mesh.yaml"), unit);
        assertTrue(unit.contains("RestartPreventExitStatus=2"), "exit 2 (a usage or mesh-file error) must not restart");
        assertTrue(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"), "reload is SIGHUP, which reads the mesh file");
        assertTrue(read("deploy/bin/pgmesh").contains("exec \"$java\""),
                "the launcher execs the JVM, so the signals of the service manager reach pgmesh");
        assertTrue(read("src/assembly/dist.xml").contains("<source>deploy/bin/pgmesh</source>"));
    }
}
