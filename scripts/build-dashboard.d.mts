/** Writes the dashboard's page script, bundled for the browser, to `outfile`. */
export function bundleDashboard(outfile: string): Promise<void>;
