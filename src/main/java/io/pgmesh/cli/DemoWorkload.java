package io.pgmesh.cli;

import io.pgmesh.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** The demo's sample schema and its writers: one thread per node, inserts and updates at a fixed rate. */
final class DemoWorkload implements AutoCloseable {
    static final List<String> TABLES = List.of("customers", "orders");

    private final List<Thread> writers = new ArrayList<>();
    private volatile boolean running = true;

    /** The sample schema, created on the first node only: init copies it to the others. */
    static void createSchema(Connection c) throws SQLException {
        try (c; Statement st = c.createStatement()) {
            st.execute("""
                    CREATE TABLE customers (
                        id bigserial PRIMARY KEY,
                        name text NOT NULL, region text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0)""");
            st.execute("""
                    CREATE TABLE orders (
                        id bigserial PRIMARY KEY,
                        customer_id bigint NOT NULL REFERENCES customers (id), amount numeric(12,2) NOT NULL,
                        status text NOT NULL DEFAULT 'new', placed_at timestamptz NOT NULL DEFAULT now())""");
            st.execute("CREATE INDEX orders_customer ON orders (customer_id)");
            st.execute("""
                    INSERT INTO customers (name, region, balance)
                    SELECT 'customer ' || g, 'east', (g % 1000) * 1.25 FROM generate_series(1, 20000) g""");
            st.execute("""
                    INSERT INTO orders (customer_id, amount, status)
                    SELECT 1 + g % 20000, (g % 500) + 0.99, CASE WHEN g % 3 = 0 THEN 'shipped' ELSE 'new' END
                      FROM generate_series(1, 60000) g""");
        }
    }

    static DemoWorkload start(List<EmbeddedPostgres> servers, int ratePerNode) throws SQLException {
        DemoWorkload w = new DemoWorkload();
        String[] regions = {"east", "west", "north"};
        for (int i = 0; i < servers.size(); i++) {
            Connection c = servers.get(i).connect("app");
            String region = regions[i];
            Thread t = new Thread(() -> w.write(c, region, ratePerNode), "demo writer " + region);
            t.setDaemon(true);
            t.start();
            w.writers.add(t);
        }
        return w;
    }

    private void write(Connection c, String region, int rate) {
        long interval = TimeUnit.SECONDS.toNanos(1) / rate;
        long next = System.nanoTime();
        try (c;
             PreparedStatement customer = c.prepareStatement(
                     "INSERT INTO customers (name, region) VALUES (?, ?) RETURNING id");
             PreparedStatement order = c.prepareStatement(
                     "INSERT INTO orders (customer_id, amount) VALUES (?, ?)");
             PreparedStatement pay = c.prepareStatement(
                     "UPDATE customers SET balance = balance + ? WHERE id = ?")) {
            c.setAutoCommit(false);
            int n = 0;
            List<Long> mine = new ArrayList<>();
            while (running) {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                if (mine.isEmpty() || n++ % 5 == 0) {
                    customer.setString(1, region + " customer " + n);
                    customer.setString(2, region);
                    try (ResultSet rs = customer.executeQuery()) {
                        rs.next();
                        mine.add(rs.getLong(1));
                    }
                } else {
                    long id = mine.get(r.nextInt(mine.size()));
                    java.math.BigDecimal amount = java.math.BigDecimal.valueOf(r.nextInt(1, 50_000), 2);
                    order.setLong(1, id);
                    order.setBigDecimal(2, amount);
                    order.executeUpdate();
                    pay.setBigDecimal(1, amount);
                    pay.setLong(2, id);
                    pay.executeUpdate();
                }
                c.commit();
                next += interval;
                LockSupport.parkNanos(next - System.nanoTime());
            }
        } catch (SQLException e) {
            if (running) {
                System.err.println("demo writer " + region + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : writers) {
            t.join(5000);
        }
    }
}
