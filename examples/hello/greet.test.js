const test = require('node:test');
const assert = require('node:assert');
const { greet } = require('./greet');

test('greets by name', () => {
  assert.match(greet('agent'), /^hello, agent, from Linux /);
});

test('runs in the sandbox, not on the host', () => {
  assert.match(greet('x'), /on airlock$/);
});
