// Each provider against interception at the fetch boundary: the exact request its public API
// expects, and how its answers are classified.
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sendWith } from "../../src/delivery/providers/index";
import { DeliveryFailure } from "../../src/delivery/providers/http";
import { signWebhook } from "../../src/delivery/providers/webhook";
import { deliveryMessage, interceptFetch, NOW, sendContext, testEnv, webhookSecret } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const headersOf = (r: Request) => Object.fromEntries(r.headers);

async function failureOf(promise: Promise<unknown>): Promise<DeliveryFailure> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryFailure);
  return error as DeliveryFailure;
}

describe("resend", () => {
  const settings = { provider: "resend", apiKey: "re_test_123456789", from: "no-reply@example.com", fromName: "Demo App" } as const;

  it("posts JSON to /emails with the bearer key and the message id as Idempotency-Key", async () => {
    const { calls } = interceptFetch(() => Response.json({ id: "4ef9a417-02e9-4d39-ad75-9611e0fcc33c" }));
    const message = deliveryMessage();
    const sent = await sendWith(settings, message, sendContext());
    expect(calls).toHaveLength(1);
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.resend.com/emails");
    expect(headersOf(request)).toEqual({
      authorization: "Bearer re_test_123456789",
      "content-type": "application/json",
      "idempotency-key": message.id,
    });
    expect(await request.json()).toEqual({
      from: "Demo App <no-reply@example.com>",
      to: ["alice@example.com"],
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    expect(sent.providerMessageId).toBe("4ef9a417-02e9-4d39-ad75-9611e0fcc33c");
  });

  it("retries a 409 for a request with the same key still in flight", async () => {
    interceptFetch(() => Response.json({ statusCode: 409, name: "concurrent_idempotent_requests", message: "in progress" }, { status: 409 }));
    const failure = await failureOf(sendWith(settings, deliveryMessage(), sendContext()));
    expect(failure.retryable).toBe(true);
  });

  it("gives up on a 409 for the same key with another payload", async () => {
    interceptFetch(() => Response.json({ statusCode: 409, name: "invalid_idempotent_request", message: "differs" }, { status: 409 }));
    const failure = await failureOf(sendWith(settings, deliveryMessage(), sendContext()));
    expect(failure).toMatchObject({ retryable: false, status: 409 });
  });
});

describe("postmark", () => {
  const settings = { provider: "postmark", serverToken: "pm-server-token-1", from: "no-reply@example.com", messageStream: "outbound" } as const;

  it("posts PascalCase JSON to /email with the server token header", async () => {
    const { calls } = interceptFetch(() => Response.json({ To: "alice@example.com", MessageID: "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", ErrorCode: 0, Message: "OK" }));
    const message = deliveryMessage();
    const sent = await sendWith(settings, message, sendContext());
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.postmarkapp.com/email");
    expect(headersOf(request)).toEqual({
      accept: "application/json",
      "content-type": "application/json",
      "x-postmark-server-token": "pm-server-token-1",
    });
    expect(await request.json()).toEqual({
      From: "no-reply@example.com",
      To: "alice@example.com",
      Subject: message.subject,
      TextBody: message.text,
      HtmlBody: message.html,
      MessageStream: "outbound",
      Metadata: { latchkeyMessageId: message.id },
    });
    expect(sent.providerMessageId).toBe("b7bc2f4a-e38e-4336-af7d-e6c392c2f817");
  });

  it("treats 422 with ErrorCode 406 (inactive recipient) as permanent", async () => {
    interceptFetch(() => Response.json({ ErrorCode: 406, Message: "inactive" }, { status: 422 }));
    const failure = await failureOf(sendWith(settings, deliveryMessage(), sendContext()));
    expect(failure).toMatchObject({ retryable: false, status: 422 });
  });

  it("treats 422 with ErrorCode 429 (rate limited) as retryable", async () => {
    interceptFetch(() => Response.json({ ErrorCode: 429, Message: "Rate limit exceeded" }, { status: 422 }));
    const failure = await failureOf(sendWith(settings, deliveryMessage(), sendContext()));
    expect(failure.retryable).toBe(true);
  });
});

describe("sendgrid", () => {
  const settings = { provider: "sendgrid", apiKey: "SG.test-key", from: "no-reply@example.com", fromName: "Demo, Inc.", region: "global" } as const;

  it("posts v3 mail/send JSON with text/plain before text/html and reads X-Message-Id", async () => {
    const { calls } = interceptFetch(() => new Response(null, { status: 202, headers: { "X-Message-Id": "sg-id-1" } }));
    const message = deliveryMessage();
    const sent = await sendWith(settings, message, sendContext());
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.sendgrid.com/v3/mail/send");
    expect(headersOf(request)).toEqual({ authorization: "Bearer SG.test-key", "content-type": "application/json" });
    expect(await request.json()).toEqual({
      personalizations: [{ to: [{ email: "alice@example.com" }] }],
      from: { email: "no-reply@example.com", name: "Demo, Inc." },
      subject: message.subject,
      content: [
        { type: "text/plain", value: message.text },
        { type: "text/html", value: message.html },
      ],
      custom_args: { latchkey_message_id: message.id },
    });
    expect(sent.providerMessageId).toBe("sg-id-1");
  });

  it("uses the EU host for region eu", async () => {
    const { calls } = interceptFetch(() => new Response(null, { status: 202 }));
    await sendWith({ ...settings, region: "eu" }, deliveryMessage(), sendContext());
    expect(calls[0]!.request.url).toBe("https://api.eu.sendgrid.com/v3/mail/send");
  });
});

describe("mailgun", () => {
  const settings = { provider: "mailgun", apiKey: "key-test", domain: "mg.example.com", from: "no-reply@example.com", fromName: "Demo App", region: "us" } as const;

  it("posts multipart form fields to /v3/{domain}/messages with basic auth api:key", async () => {
    const { calls } = interceptFetch(() => Response.json({ id: "<20261123.1@mg.example.com>", message: "Queued. Thank you." }));
    const message = deliveryMessage();
    const sent = await sendWith(settings, message, sendContext());
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://api.mailgun.net/v3/mg.example.com/messages");
    expect(request.headers.get("Authorization")).toBe(`Basic ${btoa("api:key-test")}`);
    expect(request.headers.get("Content-Type")).toMatch(/^multipart\/form-data; boundary=/);
    const form = await request.formData();
    expect(Object.fromEntries(form)).toEqual({
      from: "Demo App <no-reply@example.com>",
      to: "alice@example.com",
      subject: message.subject,
      text: message.text,
      html: message.html,
      "v:latchkey_message_id": message.id,
    });
    expect(sent.providerMessageId).toBe("<20261123.1@mg.example.com>");
  });

  it("uses api.eu.mailgun.net for region eu", async () => {
    const { calls } = interceptFetch(() => Response.json({ id: "x" }));
    await sendWith({ ...settings, region: "eu" }, deliveryMessage(), sendContext());
    expect(calls[0]!.request.url).toBe("https://api.eu.mailgun.net/v3/mg.example.com/messages");
  });
});

describe("twilio", () => {
  const accountSid = `AC${"0123456789abcdef".repeat(2)}`;
  const base = { provider: "twilio", accountSid, authToken: "twilio-auth-token" } as const;
  const sms = () => deliveryMessage({ channel: "sms", to: "+819012345678", subject: "", html: "" });

  it("posts a form with To, From and Body to Messages.json with basic auth SID:token", async () => {
    const { calls } = interceptFetch(() => Response.json({ sid: "SM0123", status: "queued", error_code: null }, { status: 201 }));
    const message = sms();
    const sent = await sendWith({ ...base, from: "+15005550006" }, message, sendContext());
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Messages.json`);
    expect(headersOf(request)).toEqual({
      authorization: `Basic ${btoa(`${accountSid}:twilio-auth-token`)}`,
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(Object.fromEntries(await request.formData())).toEqual({ To: "+819012345678", From: "+15005550006", Body: message.text });
    expect(sent.providerMessageId).toBe("SM0123");
  });

  it("sends MessagingServiceSid instead of From when a messaging service is set", async () => {
    const { calls } = interceptFetch(() => Response.json({ sid: "SM0124", status: "accepted" }, { status: 201 }));
    const messagingServiceSid = `MG${"fedcba9876543210".repeat(2)}`;
    await sendWith({ ...base, messagingServiceSid }, sms(), sendContext());
    const fields = await calls[0]!.request.formData();
    expect(fields.get("MessagingServiceSid")).toBe(messagingServiceSid);
    expect(fields.has("From")).toBe(false);
  });

  it("treats 400 code 21211 (invalid To) as permanent", async () => {
    interceptFetch(() => Response.json({ code: 21211, message: "Invalid 'To' Phone Number", status: 400 }, { status: 400 }));
    const failure = await failureOf(sendWith({ ...base, from: "+15005550006" }, sms(), sendContext()));
    expect(failure).toMatchObject({ retryable: false, status: 400, reason: "http_400" });
  });
});

describe("webhook", () => {
  it("posts the message JSON with Standard Webhooks headers that verify with the standardwebhooks package", async () => {
    const secret = webhookSecret();
    const { calls } = interceptFetch(() => new Response(null, { status: 204 }));
    const message = deliveryMessage();
    await sendWith({ provider: "webhook", url: "https://hooks.example.com/latchkey", secret }, message, sendContext({ now: () => Date.now() }));
    const { request } = calls[0]!;
    expect(request.method).toBe("POST");
    expect(request.url).toBe("https://hooks.example.com/latchkey");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    expect(request.headers.get("webhook-id")).toBe(message.id);
    expect(request.headers.get("webhook-timestamp")).toMatch(/^\d+$/);
    const body = await request.text();
    const verified = new Webhook(secret).verify(body, Object.fromEntries(request.headers));
    const { id, appId, channel, to, subject, text, html, template, locale, createdAt } = message;
    expect(verified).toEqual({ id, appId, channel, to, subject, text, html, template, locale, createdAt });
  });

  it("signs v1,base64(HMAC-SHA256(id.timestamp.body)) with the decoded whsec_ key", () => {
    const secret = webhookSecret();
    const timestamp = Math.floor(NOW / 1000);
    const expected = new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), '{"a":1}');
    expect(signWebhook(secret, "msg_1", timestamp, '{"a":1}')).toBe(expected);
  });

  it("does not follow redirects and sends with a timeout signal", async () => {
    const { calls } = interceptFetch(() => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } }));
    const failure = await failureOf(sendWith({ provider: "webhook", url: "https://hooks.example.com/x", secret: webhookSecret() }, deliveryMessage(), sendContext()));
    expect(calls[0]!.redirect).toBe("manual");
    expect(calls[0]!.signal).toBeInstanceOf(AbortSignal);
    expect(failure).toMatchObject({ retryable: false, status: 302 });
  });

  it("refuses a loopback http URL outside development without calling it", async () => {
    const { calls } = interceptFetch();
    const failure = await failureOf(
      sendWith({ provider: "webhook", url: "http://127.0.0.1:9999/hook", secret: webhookSecret() }, deliveryMessage(), sendContext({ development: false })),
    );
    expect(failure).toMatchObject({ retryable: false, reason: "webhook_destination_refused" });
    expect(calls).toHaveLength(0);
  });
});

describe("cloudflare send_email binding", () => {
  it("sends the structured message through the named binding", async () => {
    const send = vi.fn(async (_: unknown) => ({ messageId: "<cf-1@example.com>" }));
    const message = deliveryMessage();
    const sent = await sendWith(
      { provider: "cloudflare", from: "no-reply@example.com", fromName: "Demo App", binding: "MAILER" },
      message,
      sendContext({ env: { ...testEnv, MAILER: { send } } as typeof testEnv }),
    );
    expect(send).toHaveBeenCalledWith({
      from: { email: "no-reply@example.com", name: "Demo App" },
      to: "alice@example.com",
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    expect(sent.providerMessageId).toBe("<cf-1@example.com>");
  });

  it("fails permanently, naming the cause, when the binding is missing", async () => {
    const failure = await failureOf(sendWith({ provider: "cloudflare", from: "no-reply@example.com", binding: "EMAIL" }, deliveryMessage(), sendContext()));
    expect(failure).toMatchObject({ retryable: false, reason: "send_email_binding_missing" });
  });

  it("retries E_RATE_LIMIT_EXCEEDED and gives up on E_SENDER_NOT_VERIFIED", async () => {
    const failing = (code: string) => ({
      send: async () => {
        throw Object.assign(new Error("refused"), { code });
      },
    });
    const run = (code: string) =>
      failureOf(sendWith({ provider: "cloudflare", from: "no-reply@example.com", binding: "EMAIL" }, deliveryMessage(), sendContext({ env: { ...testEnv, EMAIL: failing(code) } as typeof testEnv })));
    expect((await run("E_RATE_LIMIT_EXCEEDED")).retryable).toBe(true);
    expect((await run("E_SENDER_NOT_VERIFIED")).retryable).toBe(false);
  });
});

describe("outbox", () => {
  it("is refused outside development", async () => {
    const failure = await failureOf(sendWith({ provider: "outbox" }, deliveryMessage(), sendContext({ development: false })));
    expect(failure).toMatchObject({ retryable: false, reason: "outbox_outside_development" });
  });
});

describe("answers every HTTP provider shares", () => {
  const settings = { provider: "resend", apiKey: "re_x", from: "no-reply@example.com" } as const;

  it("classifies network errors and timeouts as retryable", async () => {
    interceptFetch(() => {
      throw new TypeError("Network connection lost.");
    });
    expect(await failureOf(sendWith(settings, deliveryMessage(), sendContext()))).toMatchObject({ retryable: true, reason: "network_error" });
    vi.restoreAllMocks();
    interceptFetch(() => {
      throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
    });
    expect(await failureOf(sendWith(settings, deliveryMessage(), sendContext()))).toMatchObject({ retryable: true, reason: "timeout" });
  });

  it("reads Retry-After as seconds or as an HTTP date", async () => {
    interceptFetch(() => new Response(null, { status: 429, headers: { "Retry-After": "120" } }));
    expect(await failureOf(sendWith(settings, deliveryMessage(), sendContext()))).toMatchObject({ retryable: true, status: 429, retryAfterSeconds: 120 });
    vi.restoreAllMocks();
    interceptFetch(() => new Response(null, { status: 503, headers: { "Retry-After": new Date(NOW + 90_000).toUTCString() } }));
    expect(await failureOf(sendWith(settings, deliveryMessage(), sendContext()))).toMatchObject({ retryable: true, status: 503, retryAfterSeconds: 90 });
  });

  it("treats 401 as permanent", async () => {
    interceptFetch(() => Response.json({ name: "missing_api_key" }, { status: 401 }));
    expect(await failureOf(sendWith(settings, deliveryMessage(), sendContext()))).toMatchObject({ retryable: false, status: 401 });
  });
});
