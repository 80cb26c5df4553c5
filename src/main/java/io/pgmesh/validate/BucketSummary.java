package io.pgmesh.validate;

/**
 * One bucket of a table on one node: how many rows, and two order-independent sums of 64-bit
 * slices of the rows' md5 (numeric on the server, so they cannot overflow).
 */
public record BucketSummary(long rows, String sum1, String sum2) {
}
