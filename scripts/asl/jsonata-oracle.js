// Evaluates JSONata cases with the reference implementation, for crates/asl/tests/jsonata_oracle.rs.
// Input (argv[2]): a JSON array of {"expr", "input"?, "bindings"?}. Output (stdout): a JSON array of
// {"value"} (absent for undefined) or {"error": code}.
const fs = require('fs');
const path = require('path');
const jsonata = require(path.resolve(process.argv[3], 'node_modules', 'jsonata'));

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const results = [];
  for (const c of cases) {
    try {
      const expression = jsonata(c.expr);
      const value = await expression.evaluate(c.input, c.bindings || {});
      if (typeof value === 'function') {
        results.push({ error: 'T0001' });
      } else if (value === undefined) {
        results.push({});
      } else {
        // Round-trips through JSON as the executor's results do (functions inside drop out).
        results.push({ value: JSON.parse(JSON.stringify(value)) });
      }
    } catch (e) {
      results.push({ error: e.code || String(e) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}
main();
