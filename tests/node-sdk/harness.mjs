// The small test harness the flows here share: each check is a named step that prints `ok - …`
// or `not ok - …` with the error (for an HTTP error: the status, the response body and the
// request the SDK sent, credentials redacted); finish() prints `N passed, M failed` and exits 1
// when any step failed.

const results = [];

export async function step(name, body) {
  try {
    await body();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    const detail = error?.response?.data ?? error?.response ?? error?.message ?? String(error);
    const status = error?.statusCode ?? error?.response?.status;
    const prefix = status ? `HTTP ${status} ` : '';
    console.log(`not ok - ${name}\n  ${prefix}${JSON.stringify(detail)}`);
    // What the SDK sent (its GHLError carries the request, credentials redacted).
    const request = error?.request;
    if (request?.url) {
      const method = String(request.method ?? 'get').toUpperCase();
      const query = request.params && Object.keys(request.params).length
        ? `?${new URLSearchParams(request.params)}` : '';
      console.log(`  sent: ${method} ${request.url}${query} headers ${JSON.stringify(request.headers)}`
        + (request.data === undefined ? '' : ` body ${JSON.stringify(request.data)}`));
    }
  }
}

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
}

export function finish() {
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
