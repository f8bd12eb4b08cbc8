// A greeting that says where it runs, so the quick start shows the sandbox.
const os = require('node:os');

function greet(name) {
  return `hello, ${name}, from ${os.type()} ${os.release()} on ${os.hostname()}`;
}

module.exports = { greet };

if (require.main === module) {
  console.log(greet(process.argv[2] || os.userInfo().username));
}
