/**
 * Op cases that cannot run on an asynchronous backend as written: their
 * public function reads tensor values on the host synchronously (a shape
 * that depends on the data, a pivot, a convergence test). Each entry says
 * which read; the suite checks every entry still names a case.
 */
export const SYNC_READ: Record<string, string> = {};
