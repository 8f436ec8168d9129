import net from 'node:net';
import nodemailer from 'nodemailer';
import { startSmtp } from './support/smtp';

// The SMTP server the chaos suite and the mail tests deliver to must outlive clients killed mid-session: the chaos
// suite SIGKILLs workers while their dispatcher talks to it, and a long run once ended with an unhandled
// ECONNRESET from the sink itself rather than with its invariants.
test('the SMTP sink keeps accepting mail after clients reset their connections mid-session', async () => {
  const smtp = await startSmtp();
  try {
    const port = Number(new URL(smtp.url).port);
    for (let i = 0; i < 3; i++) {
      // Reset inside a transaction (after MAIL FROM): smtp-server ignores resets outside one, but reports these.
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('error', reject);
        let seen = '';
        let step = 0;
        socket.on('data', (chunk: Buffer) => {
          seen += chunk.toString('latin1');
          if (step === 0 && /^220 /m.test(seen)) {
            step = 1;
            socket.write('EHLO chaos\r\n');
          } else if (step === 1 && /^250 /m.test(seen)) {
            step = 2;
            seen = '';
            socket.write('MAIL FROM:<a@example.org>\r\n');
          } else if (step === 2 && /^250 /m.test(seen)) {
            step = 3;
            socket.resetAndDestroy();
            resolve();
          }
        });
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    const transport = nodemailer.createTransport({ url: smtp.url, ignoreTLS: true } as never);
    await transport.sendMail({ from: 'a@example.org', to: 'b@example.org', subject: 'still here', text: 'ok' });
    expect(smtp.received.map((m) => m.subject)).toEqual(['still here']);
  } finally {
    await smtp.close();
  }
});
