import { expect, test, type Page, type WebSocketRoute } from "./test";
import {
  contrast,
  luminance,
  personLink,
  registerInNewContext,
  screenshot,
  uniqueName,
  waitForHydration,
  watchForPageErrors,
} from "./helpers";

async function openConversation(page: Page, username: string): Promise<void> {
  await page.getByPlaceholder("Search people").fill(username);
  await personLink(page, username).click();
  await expect(page).toHaveURL(new RegExp(`/chat/${username}$`));
  await expect(page.locator(".conversation-header h2")).toHaveText(username);
  await expect(page.locator(".composer textarea")).toBeVisible();
}

function bubbles(page: Page) {
  return page.locator(".messages .message .message-body");
}

test("two people chat both ways in real time, and history survives a reload", async ({ browser }) => {
  const aliceName = uniqueName("alice");
  const bobName = uniqueName("bob");
  const alice = await registerInNewContext(browser, aliceName);
  const bob = await registerInNewContext(browser, bobName);
  const aliceErrors = watchForPageErrors(alice);
  const bobErrors = watchForPageErrors(bob);
  let dialogs = 0;
  for (const page of [alice, bob]) page.on("dialog", (dialog) => { dialogs += 1; void dialog.dismiss(); });

  await openConversation(alice, bobName);
  await openConversation(bob, aliceName);
  await expect(alice.getByText("No messages yet")).toBeVisible();

  // Alice sends with Enter; Bob sees it without reloading; Alice sees it once.
  await alice.locator(".composer textarea").fill("Hello Bob!");
  await alice.locator(".composer textarea").press("Enter");
  await expect(bubbles(bob)).toHaveText(["Hello Bob!"]);
  await expect(bubbles(alice)).toHaveText(["Hello Bob!"]);
  await expect(alice.locator(".message.mine .message-body")).toHaveText(["Hello Bob!"]);
  await expect(bob.locator(".message.theirs .message-body")).toHaveText(["Hello Bob!"]);
  await expect(alice.locator(".composer textarea")).toHaveValue("");

  // Bob replies over two lines (Shift+Enter), sent with the button.
  const composer = bob.locator(".composer textarea");
  await composer.type("Hi Alice");
  await composer.press("Shift+Enter");
  await composer.type("second line");
  await bob.getByRole("button", { name: "Send" }).click();
  await expect(bubbles(alice)).toHaveText(["Hello Bob!", "Hi Alice\nsecond line"]);
  await expect(bubbles(bob)).toHaveText(["Hello Bob!", "Hi Alice\nsecond line"]);

  // Markup in a message is text, never HTML.
  const attack = "<img src=x onerror=alert(1)>";
  await alice.locator(".composer textarea").fill(attack);
  await alice.locator(".composer textarea").press("Enter");
  await expect(bubbles(bob).last()).toHaveText(attack);
  await expect(bob.locator(".messages img")).toHaveCount(0);

  await expect(bob.locator(".day-separator")).toHaveText(["Today"]);
  await bob.setViewportSize({ width: 1100, height: 720 });
  // The header's actions are icons, named for screen readers, so the
  // reader's own name is shown whole.
  await expect(bob.getByRole("link", { name: "Settings" })).toBeVisible();
  await expect(bob.getByRole("button", { name: "Log out" })).toBeVisible();
  expect(await bob.locator(".me-name").evaluate((name) => name.scrollWidth <= name.clientWidth)).toBe(true);
  await screenshot(bob, "screenshot");

  // History survives a reload, server-rendered then live again.
  await alice.reload();
  await expect(bubbles(alice)).toHaveText(["Hello Bob!", "Hi Alice\nsecond line", attack]);
  await bob.locator(".composer textarea").fill("after the reload");
  await bob.locator(".composer textarea").press("Enter");
  await expect(bubbles(alice).last()).toHaveText("after the reload");

  expect(dialogs).toBe(0);
  expect(aliceErrors).toEqual([]);
  expect(bobErrors).toEqual([]);
});

/** The words and numbers of `at` written in `timeZone` as `locale` writes it with `options`. */
function localWords(at: string, timeZone: string, locale: string, options: Intl.DateTimeFormatOptions): string[] {
  return words(new Intl.DateTimeFormat(locale, { timeZone, ...options }).format(new Date(at)));
}

/** Words and numbers only: ICU versions differ in the spaces and commas between them. */
function words(text: string | null): string[] {
  return (text ?? "").split(/[^0-9A-Za-z]+/).filter(Boolean);
}

test("times read in each reader's own zone and locale, UTC before hydration", async ({ browser }) => {
  // Kolkata is UTC+5:30 (a half-hour zone) writing 24-hour times; New York
  // writes 12-hour times with AM/PM.
  const ann = await registerInNewContext(browser, uniqueName("ann"), {
    locale: "en-GB",
    timezoneId: "Asia/Kolkata",
  });
  const bobName = uniqueName("bob");
  const bob = await registerInNewContext(browser, bobName, { locale: "en-US", timezoneId: "America/New_York" });
  const errors = [watchForPageErrors(ann), watchForPageErrors(bob)];
  const annName = (await ann.locator(".me-name").textContent()) ?? "";
  await openConversation(ann, bobName);
  await openConversation(bob, annName);
  await ann.locator(".composer textarea").fill("What time is it there?");
  await ann.locator(".composer textarea").press("Enter");
  await expect(bubbles(bob)).toHaveText(["What time is it there?"]);

  const clock: Intl.DateTimeFormatOptions = { hour: "numeric", minute: "2-digit" };
  let sentAt = "";
  for (const [page, zone, locale] of [
    [ann, "Asia/Kolkata", "en-GB"],
    [bob, "America/New_York", "en-US"],
  ] as const) {
    // A stored message's time (a pending one says "Sending…").
    const time = page.locator(".messages time.message-time").first();
    sentAt = (await time.getAttribute("datetime")) ?? "";
    const expected = localWords(sentAt, zone, locale, clock);
    await expect.poll(async () => words(await time.textContent())).toEqual(expected);
    const listed = page.locator(".conversation-time").first();
    await expect.poll(async () => words(await listed.textContent())).toEqual(expected);
    await expect(page.locator(".day-separator")).toHaveText(["Today"]);
  }

  // Seen from later on, the day is named the reader's way: within the week
  // by its weekday, in an earlier year with its year; the conversation list
  // says the same, shorter.
  const day = 86_400_000;
  for (const [later, separator, listed] of [
    [3 * day, { weekday: "long", day: "numeric", month: "long" }, { weekday: "short" }],
    [
      400 * day,
      { day: "numeric", month: "long", year: "numeric" },
      { day: "numeric", month: "short", year: "numeric" },
    ],
  ] as const) {
    await bob.clock.setFixedTime(Date.parse(sentAt) + later);
    await bob.reload();
    await waitForHydration(bob);
    const named = (options: Intl.DateTimeFormatOptions) => localWords(sentAt, "America/New_York", "en-US", options);
    await expect.poll(async () => words(await bob.locator(".day-separator").textContent())).toEqual(named(separator));
    await expect.poll(async () => words(await bob.locator(".conversation-time").textContent())).toEqual(named(listed));
  }

  // A page left open past midnight names the day anew: ten minutes before
  // the end of the message's day in Kolkata (UTC+5:30, no daylight saving;
  // the page's clock runs on meanwhile) it is today, just after, yesterday,
  // and a day later, two days ago.
  const kolkata = 330 * 60_000;
  const local = new Date(Date.parse(sentAt) + kolkata);
  const midnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1) - kolkata;
  await ann.clock.install({ time: midnight - 600_000 });
  await ann.reload();
  await waitForHydration(ann);
  await expect(ann.locator(".day-separator")).toHaveText(["Today"]);
  await expect.poll(async () => words(await ann.locator(".conversation-time").textContent())).toEqual(
    localWords(sentAt, "Asia/Kolkata", "en-GB", clock),
  );
  await ann.clock.fastForward(660_000);
  await expect(ann.locator(".day-separator")).toHaveText(["Yesterday"]);
  await expect(ann.locator(".conversation-time")).toHaveText("Yesterday");
  await ann.clock.fastForward(day);
  const kolkataWords = (options: Intl.DateTimeFormatOptions) => localWords(sentAt, "Asia/Kolkata", "en-GB", options);
  await expect
    .poll(async () => words(await ann.locator(".day-separator").textContent()))
    .toEqual(kolkataWords({ weekday: "long", day: "numeric", month: "long" }));
  await expect
    .poll(async () => words(await ann.locator(".conversation-time").textContent()))
    .toEqual(kolkataWords({ weekday: "short" }));

  // Before the wasm runs, the server's page says the time in UTC.
  const raw = await (await ann.request.get(`/chat/${bobName}`)).text();
  const utc = new Date(sentAt).toISOString().slice(11, 16);
  expect(raw).toContain(`<time datetime="${sentAt}" class="message-time">${utc}<`);
  expect(errors).toEqual([[], []]);
});

test("older messages load when scrolling up", async ({ browser }) => {
  const carolName = uniqueName("carol");
  const daveName = uniqueName("dave");
  const carol = await registerInNewContext(browser, carolName);
  const dave = await registerInNewContext(browser, daveName);
  // 40 messages through the REST API, with Carol's session cookie.
  for (let index = 1; index <= 40; index += 1) {
    const response = await carol.request.post("/api/v1/message/", {
      data: { recipient: daveName, body: `message ${index}` },
    });
    expect(response.status()).toBe(201);
  }
  // A fresh load: the messages above arrived live, and the page now shows
  // only the newest page of history.
  await dave.goto(`/chat/${carolName}`);
  await expect(bubbles(dave)).toHaveCount(15);
  await expect(bubbles(dave).last()).toHaveText("message 40");

  const scroller = dave.locator(".message-scroller");
  await scroller.evaluate((element) => element.scrollTo(0, 0));
  await expect(bubbles(dave)).toHaveCount(30);
  await scroller.evaluate((element) => element.scrollTo(0, 0));
  await expect(bubbles(dave)).toHaveCount(40);
  await expect(bubbles(dave).first()).toHaveText("message 1");
  await expect(dave.getByRole("button", { name: "Load older messages" })).toHaveCount(0);
});

test("the layout works at a phone's width", async ({ browser }) => {
  const erinName = uniqueName("erin");
  const frankName = uniqueName("frank");
  await (await registerInNewContext(browser, frankName)).context().close();
  // A phone: a touch screen, which never hovers.
  const erin = await registerInNewContext(browser, erinName, {
    viewport: { width: 390, height: 800 },
    hasTouch: true,
    isMobile: true,
  });
  expect(await erin.evaluate(() => matchMedia("(hover: hover)").matches)).toBe(false);
  await expect(erin.locator(".sidebar")).toBeVisible();
  await expect(erin.locator(".conversation")).toBeHidden();
  await openConversation(erin, frankName);
  await expect(erin.locator(".sidebar")).toBeHidden();
  // One unbroken word, longer than the screen is wide: it wraps in its
  // bubble, and as the conversation's preview it is cut short, without
  // widening the page past the screen.
  const longWord = "x".repeat(200);
  await erin.locator(".composer textarea").fill(longWord);
  await erin.locator(".composer textarea").press("Enter");
  await expect(bubbles(erin)).toHaveText([longWord]);
  const fitsTheScreen = () => erin.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  expect(await fitsTheScreen()).toBe(true);
  await erin.getByRole("link", { name: "Back to people" }).click();
  await expect(erin.locator(".sidebar")).toBeVisible();
  await expect(erin.locator(".conversation-preview")).toHaveText(/^You: x{50,}/);
  expect(await fitsTheScreen()).toBe(true);
  await expect(erin.getByRole("button", { name: "Log out" })).toBeInViewport({ ratio: 1 });

  // On a touch screen nothing hovers: Edit and Delete stay unseen, and a
  // tap where they are goes through them, until the message is tapped.
  await erin.getByRole("link", { name: new RegExp(frankName) }).first().tap();
  const mine = erin.locator(".message.mine").first();
  const actions = mine.locator(".message-actions");
  await expect(actions).toHaveCSS("opacity", "0");
  const where = (await mine.getByRole("button", { name: "Delete" }).boundingBox())!;
  await erin.touchscreen.tap(where.x + where.width / 2, where.y + where.height / 2);
  await expect(mine.getByText("Delete for everyone?")).toHaveCount(0);
  await mine.locator(".bubble").tap();
  await expect(actions).toHaveCSS("opacity", "1");
  await mine.getByRole("button", { name: "Delete" }).tap();
  await expect(mine.getByText("Delete for everyone?")).toBeVisible();
});

test("a draft stays with the conversation it was written in", async ({ browser }) => {
  const patName = uniqueName("pat");
  const quinnName = uniqueName("quinn");
  const ritaName = uniqueName("rita");
  await (await registerInNewContext(browser, quinnName)).context().close();
  const rita = await registerInNewContext(browser, ritaName);
  const pat = await registerInNewContext(browser, patName);
  const composer = pat.locator(".composer textarea");
  await openConversation(pat, quinnName);
  await composer.fill("for Quinn only");
  await openConversation(pat, ritaName);
  await expect(composer).toHaveValue("");
  await composer.fill("hi Rita");
  await composer.press("Enter");
  await expect(bubbles(pat)).toHaveText(["hi Rita"]);
  await openConversation(pat, quinnName);
  await expect(composer).toHaveValue("for Quinn only");
  await composer.press("Enter");
  await expect(bubbles(pat)).toHaveText(["for Quinn only"]);
  await openConversation(rita, patName);
  await expect(bubbles(rita)).toHaveText(["hi Rita"]);
});

test("web addresses in a message are links that open in a new tab, other schemes stay text", async ({ browser }) => {
  const umaName = uniqueName("uma");
  const vicName = uniqueName("vic");
  await (await registerInNewContext(browser, vicName)).context().close();
  const uma = await registerInNewContext(browser, umaName);
  await openConversation(uma, vicName);
  await uma.locator(".composer textarea").fill("read https://example.org/a?b=1. not javascript:alert(1)");
  await uma.locator(".composer textarea").press("Enter");
  const body = uma.locator(".messages .message-body").last();
  await expect(body).toHaveText("read https://example.org/a?b=1. not javascript:alert(1)");
  const link = body.getByRole("link");
  await expect(link).toHaveCount(1);
  await expect(link).toHaveAttribute("href", "https://example.org/a?b=1");
  await expect(link).toHaveAttribute("target", "_blank");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer nofollow");
  // Server-rendered the same way, before any script runs.
  const raw = await (await uma.request.get(`/chat/${vicName}`)).text();
  expect(raw).toContain('<a href="https://example.org/a?b=1" target="_blank" rel="noopener noreferrer nofollow">');
});

test("a message that arrives while older ones are read is announced, and a send goes to the bottom", async ({ browser }) => {
  const samName = uniqueName("sam");
  const tessName = uniqueName("tess");
  const sam = await registerInNewContext(browser, samName);
  const tess = await registerInNewContext(browser, tessName);
  for (let index = 1; index <= 14; index += 1) {
    const response = await sam.request.post("/api/v1/message/", {
      data: { recipient: tessName, body: `line ${index}\n`.repeat(3) },
    });
    expect(response.status()).toBe(201);
  }
  await tess.goto(`/chat/${samName}`);
  await waitForHydration(tess);
  await expect(bubbles(tess)).toHaveCount(14);
  const scroller = tess.locator(".message-scroller");
  const atBottom = () =>
    scroller.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight < 80);
  await expect.poll(atBottom).toBe(true);
  await scroller.evaluate((element) => element.scrollTo(0, 0));
  const jump = tess.getByRole("button", { name: "New messages ↓" });
  await expect(jump).toHaveCount(0);
  await sam.request.post("/api/v1/message/", { data: { recipient: tessName, body: "are you there?" } });
  await expect(bubbles(tess).last()).toHaveText("are you there?");
  // Still where the reader was, told that something is below.
  expect(await atBottom()).toBe(false);
  await jump.click();
  await expect.poll(atBottom).toBe(true);
  await expect(jump).toHaveCount(0);
  // Scrolled up again, a reply of one's own brings the view down to it.
  await scroller.evaluate((element) => element.scrollTo(0, 0));
  await tess.locator(".composer textarea").fill("yes");
  await tess.locator(".composer textarea").press("Enter");
  await expect(bubbles(tess).last()).toHaveText("yes");
  await expect.poll(atBottom).toBe(true);
});

test("someone who signs up while the tab is in the background is listed when it is shown again", async ({ browser }) => {
  const kimName = uniqueName("kim");
  const leoName = uniqueName("leo");
  const kim = await registerInNewContext(browser, kimName);
  await kim.getByPlaceholder("Search people").fill(leoName);
  await expect(kim.locator(".user-list .list-note")).toHaveText(`Nobody matches “${leoName}”.`);
  await (await registerInNewContext(browser, leoName)).context().close();
  // The browser tells the page it is shown again (after another tab or app).
  await kim.evaluate(() => document.dispatchEvent(new Event("visibilitychange", { bubbles: true })));
  await expect(personLink(kim, leoName)).toBeVisible();
});

test("keyboard only: find a person, open the conversation, send", async ({ browser }) => {
  const ginaName = uniqueName("gina");
  const hankName = uniqueName("hank");
  await (await registerInNewContext(browser, hankName)).context().close();
  const gina = await registerInNewContext(browser, ginaName);
  await gina.getByPlaceholder("Search people").focus();
  await gina.keyboard.type(hankName);
  await expect(personLink(gina, hankName)).toBeVisible();
  await gina.keyboard.press("Tab");
  await expect(personLink(gina, hankName)).toBeFocused();
  await gina.keyboard.press("Enter");
  await expect(gina.locator(".conversation-header h2")).toHaveText(hankName);
  // The composer takes focus when a conversation opens.
  await expect(gina.locator(".composer textarea")).toBeFocused();
  await gina.keyboard.type("typed without a mouse");
  await gina.keyboard.press("Enter");
  await expect(bubbles(gina)).toHaveText(["typed without a mouse"]);
});

test("dark mode is dark and readable", async ({ browser }) => {
  const ivyName = uniqueName("ivy");
  const ivy = await registerInNewContext(browser, ivyName);
  const colors = () =>
    ivy.evaluate(() => {
      const style = (selector: string) => getComputedStyle(document.querySelector(selector)!);
      return {
        background: style("body").backgroundColor,
        text: style(".me-name").color,
        muted: style(".sidebar-heading").color,
        sidebar: style(".sidebar").backgroundColor,
      };
    });
  const light = await colors();
  expect(luminance(light.background)).toBeGreaterThan(0.5);
  await ivy.emulateMedia({ colorScheme: "dark" });
  await expect.poll(async () => luminance((await colors()).background)).toBeLessThan(0.05);
  const dark = await colors();
  // Readable: WCAG AA contrast (4.5:1) for body text and the muted headings.
  expect(contrast(dark.text, dark.background)).toBeGreaterThanOrEqual(4.5);
  const sidebar = dark.sidebar === "rgba(0, 0, 0, 0)" ? dark.background : dark.sidebar;
  expect(contrast(dark.muted, sidebar)).toBeGreaterThanOrEqual(4.5);
});

test("a dropped live connection reconnects by itself and catches up", async ({ browser }) => {
  const joName = uniqueName("jo");
  const kimName = uniqueName("kim");
  const kim = await registerInNewContext(browser, kimName);
  const jo = await registerInNewContext(browser, joName);

  // Every socket the page opens goes through here; while `refusing`, new
  // sockets are cut at once, as if the server were unreachable.
  let refusing = false;
  let opened = 0;
  const live: WebSocketRoute[] = [];
  await jo.routeWebSocket(/\/ws(\?|$)/, (socket) => {
    opened += 1;
    if (refusing) {
      void socket.close({ code: 1006 });
      return;
    }
    socket.connectToServer();
    live.push(socket);
  });
  await jo.goto(`/chat/${kimName}`);
  await expect.poll(() => live.length).toBe(1);
  await expect(jo.locator(".connection-status")).toHaveAttribute("data-state", "live");

  refusing = true;
  await live[0].close();
  await expect(jo.locator(".connection-status")).toHaveText("Reconnecting…");
  const sent = await kim.request.post("/api/v1/message/", {
    data: { recipient: joName, body: "sent while you were away" },
  });
  expect(sent.status()).toBe(201);
  await expect.poll(() => opened).toBeGreaterThan(2); // it keeps retrying
  await expect(bubbles(jo)).toHaveCount(0);

  refusing = false;
  // The backoff between attempts grows to 15 s.
  await expect(jo.locator(".connection-status")).toHaveAttribute("data-state", "live", { timeout: 45_000 });
  await expect(bubbles(jo)).toHaveText(["sent while you were away"]);
  // And it is live again: the next message arrives without a reload.
  const next = await kim.request.post("/api/v1/message/", { data: { recipient: joName, body: "and this one live" } });
  expect(next.status()).toBe(201);
  await expect(bubbles(jo)).toHaveText(["sent while you were away", "and this one live"]);
});

test("when the network goes the page says so, and when it is back it catches up at once", async ({ browser }) => {
  const lenName = uniqueName("len");
  const moName = uniqueName("mo");
  const mo = await registerInNewContext(browser, moName);
  const len = await registerInNewContext(browser, lenName);
  await len.goto(`/chat/${moName}`);
  await expect(len.locator(".connection-status")).toHaveAttribute("data-state", "live");

  await len.context().setOffline(true);
  await expect(len.locator(".connection-status")).toHaveText("Offline: messages will send when you are back");
  const sent = await mo.request.post("/api/v1/message/", {
    data: { recipient: lenName, body: "sent while you were offline" },
  });
  expect(sent.status()).toBe(201);

  await len.context().setOffline(false);
  // At once, not after the backoff, with what was missed.
  await expect(len.locator(".connection-status")).toHaveAttribute("data-state", "live", { timeout: 5_000 });
  await expect(bubbles(len)).toHaveText(["sent while you were offline"]);
});

test("the people list pages with Load more, within a search", async ({ browser }) => {
  test.slow(); // 55 sign-ups, each an Argon2 hash
  const viewer = await registerInNewContext(browser, uniqueName("nina"));
  // 55 people sharing a prefix nobody else has: one page of 50, then 5 more.
  const prefix = `pg${Date.now().toString(36)}`;
  for (let index = 0; index < 55; index += 1) {
    const other = await browser.newContext();
    const response = await other.request.post("/api/v1/auth/register", {
      data: { username: `${prefix}${String(index).padStart(2, "0")}`, password: "correct horse battery" },
    });
    expect(response.status()).toBe(201);
    await other.close();
  }
  await viewer.getByPlaceholder("Search people").fill(prefix);
  const people = viewer.locator(".user-list .user-name");
  await expect(people).toHaveCount(50);
  await expect(people.first()).toHaveText(`${prefix}00`);
  await viewer.getByRole("button", { name: "Load more" }).click();
  await expect(people).toHaveCount(55);
  await expect(people.last()).toHaveText(`${prefix}54`);
  await expect(viewer.getByRole("button", { name: "Load more" })).toHaveCount(0);
});

test("a send whose answer is lost is retried once, shown as pending, and stored once", async ({ browser }) => {
  const leeName = uniqueName("lee");
  const maxName = uniqueName("max");
  const max = await registerInNewContext(browser, maxName);
  const lee = await registerInNewContext(browser, leeName);
  await openConversation(max, leeName);
  // Lee has no live socket, so only the retry can confirm the message.
  await lee.routeWebSocket(/\/ws(\?|$)/, (socket) => {
    void socket.close({ code: 1006 });
  });
  await lee.goto(`/chat/${maxName}`);
  await waitForHydration(lee);

  // The first POST reaches the server, but its answer never reaches the page;
  // the retry is held until the test has seen the pending, retrying message.
  const attempts: { clientId: string; status: number | null }[] = [];
  let releaseRetry = () => {};
  const retryReleased = new Promise<void>((resolve) => {
    releaseRetry = resolve;
  });
  await lee.route("**/api/v1/message/", async (route) => {
    const clientId = (route.request().postDataJSON() as { client_id: string }).client_id;
    if (attempts.length === 0) {
      const response = await route.fetch();
      attempts.push({ clientId, status: response.status() });
      await route.abort("connectionreset");
      return;
    }
    await retryReleased;
    const response = await route.fetch();
    attempts.push({ clientId, status: response.status() });
    await route.fulfill({ response });
  });

  await lee.locator(".composer textarea").fill("through a flaky network");
  await lee.locator(".composer textarea").press("Enter");
  await expect(lee.locator(".message.pending .message-body")).toHaveText(["through a flaky network"]);
  await expect(lee.locator(".message.pending")).toHaveAttribute("data-state", "retrying");
  releaseRetry();
  await expect(lee.locator(".message.pending")).toHaveCount(0, { timeout: 45_000 });
  await expect(bubbles(lee)).toHaveText(["through a flaky network"]);
  await expect(bubbles(max)).toHaveText(["through a flaky network"]);

  // Created by the first attempt (201), found again by the retry (200).
  expect(attempts.map((attempt) => attempt.status)).toEqual([201, 200]);
  expect(new Set(attempts.map((attempt) => attempt.clientId)).size).toBe(1);
  await max.reload();
  await expect(bubbles(max)).toHaveText(["through a flaky network"]);
});

test("bidi controls in a message reorder only that message, never what is around it", async ({ browser }) => {
  const aliceName = uniqueName("alice");
  const bobName = uniqueName("bob");
  const alice = await registerInNewContext(browser, aliceName);
  await registerInNewContext(browser, bobName);
  await openConversation(alice, bobName);
  // U+202E (right-to-left override) left open: unisolated, it would flip
  // "You: " and the rest of the line around it.
  const spoof = "invoice \u202Egpj.exe";
  await alice.locator(".composer textarea").fill(spoof);
  await alice.locator(".composer textarea").press("Enter");
  const body = bubbles(alice).last();
  await expect(body).toHaveText(spoof);
  await expect(body).toHaveAttribute("dir", "auto");
  await expect(body).toHaveCSS("unicode-bidi", "isolate");
  const preview = alice.locator(".conversation-item .conversation-preview").first();
  await expect(preview).toHaveText(`You: ${spoof}`);
  await expect(preview.locator("bdi")).toHaveText(spoof);
  await expect(preview.locator("bdi")).toHaveCSS("unicode-bidi", "isolate");
});
