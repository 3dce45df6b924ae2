/** Transactions this process's `pg` clients made (0 unless SLUICE_BENCH_TX_DIR was set at load). */
export declare const transactions: number;
/** Statements (round trips) they sent, BEGIN and COMMIT included. */
export declare const statements: number;
