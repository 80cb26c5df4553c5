package io.pgmesh.metrics;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;

/**
 * Counters keyed by a label set ({@code K}, a record): written by the apply thread, read when
 * metrics are scraped. A key's counter is created on first use and never removed, as Prometheus
 * expects of a counter.
 */
public final class LabeledCounts<K> {
    private final Map<K, LongAdder> counts = new ConcurrentHashMap<>();

    public void add(K key, long n) {
        counts.computeIfAbsent(key, k -> new LongAdder()).add(n);
    }

    public void forEach(BiConsumer<K, Long> action) {
        counts.forEach((k, v) -> action.accept(k, v.sum()));
    }

    /** Each key with its live counter, for a reader that keeps the counters to read them again later. */
    public void forEachCounter(BiConsumer<K, LongAdder> action) {
        counts.forEach(action);
    }

    public long total() {
        long sum = 0;
        for (LongAdder a : counts.values()) {
            sum += a.sum();
        }
        return sum;
    }

    /** How many keys have a counter; keys are never removed, so a new size means a new key. */
    public int size() {
        return counts.size();
    }

    public long get(K key) {
        LongAdder a = counts.get(key);
        return a == null ? 0 : a.sum();
    }
}
