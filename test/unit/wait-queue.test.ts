import { describe, expect, it } from 'vitest';
import { WaitQueue } from '../../src/backend/wait-queue.js';

describe('WaitQueue', () => {
  it('serves waiters first in, first out', async () => {
    const q = new WaitQueue<string>();
    const a = q.wait(1000, () => new Error('late'));
    const b = q.wait(1000, () => new Error('late'));
    expect(q.length).toBe(2);
    expect(q.handOff('first')).toBe(true);
    expect(q.handOff('second')).toBe(true);
    expect(q.handOff('nobody')).toBe(false);
    expect(await a).toBe('first');
    expect(await b).toBe('second');
    expect(q.length).toBe(0);
  });

  it('rejects a waiter at its deadline and forgets it', async () => {
    const q = new WaitQueue<number>();
    const late = q.wait(20, () => new Error('timed out'));
    await expect(late).rejects.toThrow('timed out');
    expect(q.length).toBe(0);
    expect(q.handOff(1)).toBe(false);
  });

  it('rejects everyone on shutdown', async () => {
    const q = new WaitQueue<number>();
    const waits = [q.wait(1000, () => new Error('x')), q.wait(1000, () => new Error('x'))];
    q.rejectAll(new Error('closing'));
    for (const w of waits) await expect(w).rejects.toThrow('closing');
    expect(q.length).toBe(0);
  });

  it('take() hands the settling to the caller', async () => {
    const q = new WaitQueue<number>();
    const w = q.wait(1000, () => new Error('x'));
    q.take()?.resolve(7);
    expect(await w).toBe(7);
  });
});
