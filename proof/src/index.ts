/** Proof of the whole system: shared helpers for the chaos suite, the bad-input suite and the end-to-end benchmark. */
export {};
