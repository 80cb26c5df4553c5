package io.pgmesh.apply;

/** Column index sets and the short strings that name them in statement-cache keys. */
final class Shapes {
    private Shapes() {
    }

    static String mask(int[] indexes) {
        StringBuilder sb = new StringBuilder(indexes.length * 3);
        for (int i : indexes) {
            sb.append(i).append(',');
        }
        return sb.toString();
    }

    static int[] all(int n) {
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        return all;
    }
}
