/** How much a doctor finding matters; its own module so the code table and the report shapes both read it without importing each other. */
export type Severity = 'ok' | 'info' | 'warning' | 'error';
