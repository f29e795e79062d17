// A real SMTP server on loopback for the end-to-end tests: latchkey sends its mail here (the
// test server's SMTP_URL), and each message is parsed and written to $MAIL_DIR as one JSON
// file, for the specs to read what a person would find in their inbox.
const { SMTPServer } = require("smtp-server");
const { simpleParser } = require("mailparser");
const { mkdirSync, renameSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const port = Number(process.env.MAIL_PORT);
const dir = process.env.MAIL_DIR;
mkdirSync(dir, { recursive: true });
let received = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((mail) => {
        received += 1;
        const name = `${Date.now()}-${process.pid}-${received}`;
        const record = {
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          subject: mail.subject ?? "",
          text: mail.text ?? "",
          html: typeof mail.html === "string" ? mail.html : "",
        };
        // Written whole, then renamed: a reader never sees half a mail.
        writeFileSync(join(dir, `${name}.tmp`), JSON.stringify(record));
        renameSync(join(dir, `${name}.tmp`), join(dir, `${name}.json`));
        callback();
      })
      .catch(callback);
  },
});
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
