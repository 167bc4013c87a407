// A process for tsx-process.int.test.ts: what it does comes from FIXTURE_MODE.
const mode = process.env.FIXTURE_MODE;
if (mode === 'crash') {
  console.error('fixture: cannot start');
  process.exit(3);
}
console.log('starting');
setTimeout(() => console.log(`READY ${mode}`), 300);
// Stays up until it is stopped.
setInterval(() => undefined, 1000);
