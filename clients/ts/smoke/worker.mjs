// Entry for Cloudflare workerd: GET / runs the smoke against the gateway named by the GATEWAY binding.
import { smoke } from './smoke.mjs';

export default {
  async fetch(_request, env) {
    try {
      const report = await smoke(env.GATEWAY, env.BACKENDS.split(','), 'workerd', env.CLOSED);
      return Response.json(report);
    } catch (err) {
      return new Response(`smoke failed in workerd: ${err?.stack ?? err}`, { status: 500 });
    }
  },
};
