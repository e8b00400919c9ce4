import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that fires when the client disconnects before the response is written, so a backend
 * can cancel the statement instead of running it for nobody.
 */
export function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return controller.signal;
}
