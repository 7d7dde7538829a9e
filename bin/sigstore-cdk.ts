import { runCli } from '../lib/cli/main';

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
