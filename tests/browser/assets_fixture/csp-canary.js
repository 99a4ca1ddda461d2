// Loaded from 'self', so it runs; what it tries next must be refused by script-src 'self'.
try {
  new Function("return 1")();
  document.body.dataset.eval = "allowed";
} catch (error) {
  document.body.dataset.eval = error instanceof EvalError ? "blocked" : `error: ${error}`;
}
