// The widget's image worker (a module worker). The page never decodes or analyses a picture: it posts
// {id, part, file, profile} here, and this worker answers {id, before, verdict, output, ...} with the
// upload-ready bytes transferred, not copied (see widget/src/imaging). Requests are handled one at a
// time, in order, so a second 12 MP picture never doubles the memory.
import init, * as w from './pkg/intake_widget.js';

// Loaded, then the browser's decoders asked what they can do, before the first picture arrives.
const ready = init().then(() => w.imagingWarmUp());
let queue = Promise.resolve();

async function handle(msg) {
  const id = msg && msg.id;
  try {
    await ready;
    const reply = await w.imagingProcess(msg);
    reply.id = id;
    self.postMessage(reply, reply.output ? [reply.output] : []);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
}

self.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};
