// One smsgw-server for a Node test: temp database, loopback ephemeral ports,
// the embedded Twilio simulator, no metrics listener; stopped by PID.
// SMSGW_BUILD_DIR names the build (default ../../../build).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.SMSGW_BUILD_DIR ?? path.resolve(here, '../../../build');
const serverBin = path.join(buildDir, 'smsgw-server');

// Starts smsgw-server with `extraArgs`; resolves to {http, log, stop}.
export async function startServer(name, extraArgs = []) {
  assert.ok(existsSync(serverBin), `${serverBin} not built`);
  const dir = mkdtempSync(path.join(tmpdir(), `smsgw-${name}-`));
  const portFile = path.join(dir, 'ports');
  const proc = spawn(serverBin, [
    `--db_path=${path.join(dir, 'smsgw.db')}`,
    '--grpc_addr=127.0.0.1:0',
    '--http_addr=127.0.0.1:0', '--metrics_addr=',
    '--simulator_port=0',
    `--port_file=${portFile}`,
    ...extraArgs,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  let http = '';
  for (let i = 0; i < 200 && !http; i++) {
    if (proc.exitCode !== null) break;
    if (existsSync(portFile)) {
      const m = /^http=(.+)$/m.exec(readFileSync(portFile, 'utf8'));
      if (m) http = m[1];
    }
    if (!http) await new Promise((r) => setTimeout(r, 50));
  }
  if (!http) {
    proc.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`smsgw-server (${name}) did not start:\n${log}`);
  }
  console.log(`started smsgw-server ${name} pid=${proc.pid} http=${http} ${extraArgs.join(' ')}`);
  return {
    http,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => proc.exitCode === null && process.kill(proc.pid, 'SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

