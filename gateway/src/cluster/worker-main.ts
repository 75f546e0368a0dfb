/** Entry of a `--workers` proxy process (forked by the control process). */
import { runWorker } from './worker.js';

runWorker();
