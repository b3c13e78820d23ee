/** Importing this module registers every built-in middleware factory. */
import './builtin-a.js';
import './builtin-b.js';
import './builtin-tls.js';
