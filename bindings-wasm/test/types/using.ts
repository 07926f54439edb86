// Compiled with `tsc --noEmit` only (tsconfig.disposable.json).
import { Client } from 'secretkit-wasm';

export async function scoped(): Promise<number> {
  await using client = new Client({ vault: { address: 'http://127.0.0.1:1', token: 't' } });
  const disposable: AsyncDisposable = client;
  void disposable;
  return (await client.get('env:HOME')).reveal().length;
}
