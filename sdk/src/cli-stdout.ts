/**
 * `gw-agent --help | head -1`: a reader that
 * closes the pipe early is not an error worth a stack trace. The CLI calls
 * this once at start-up: EPIPE on stdout exits 0 quietly; any other stdout
 * error is still thrown.
 */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
