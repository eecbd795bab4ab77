import { expect, test, type Page } from "./test";
import { readFileSync } from "node:fs";
import { PASSWORD, contrast, personLink, registerInNewContext, screenshot, uniqueName, waitForHydration } from "./helpers";

function conversationItem(page: Page, username: string) {
  return page.getByRole("navigation", { name: "Conversations" }).locator(".conversation-item", { hasText: username });
}

async function openWith(page: Page, username: string): Promise<void> {
  await page.getByPlaceholder("Search people").fill(username);
  await personLink(page, username).click();
  await expect(page.locator(".conversation-header h2")).toHaveText(username);
}

async function send(page: Page, body: string): Promise<void> {
  await page.locator(".composer textarea").fill(body);
  await page.locator(".composer textarea").press("Enter");
}

test("unread badges rise and clear in every tab, the title counts them, and the sender sees 'Seen'", async ({ browser }) => {
  const danaName = uniqueName("dana");
  const eliName = uniqueName("eli");
  const eli = await registerInNewContext(browser, eliName);
  const dana = await registerInNewContext(browser, danaName);
  // A second tab of Eli's, in the same session.
  const eliSecondTab = await eli.context().newPage();
  await eliSecondTab.goto("/");
  await waitForHydration(eliSecondTab);

  await openWith(dana, eliName);
  await send(dana, "one");
  await send(dana, "two");

  for (const page of [eli, eliSecondTab]) {
    await expect(conversationItem(page, danaName).locator(".unread-badge")).toHaveText("2");
    await expect(conversationItem(page, danaName).locator(".conversation-preview")).toHaveText("two");
    await expect.poll(() => page.title()).toMatch(/^\(2\) /);
  }
  await expect(dana.locator(".seen")).toHaveCount(0);
  await eli.setViewportSize({ width: 1100, height: 720 });
  await screenshot(eli, "conversations");

  // Opening the conversation reads it: both of Eli's tabs clear.
  await eli.bringToFront();
  await conversationItem(eli, danaName).click();
  await expect(eli.locator(".messages .message-body")).toHaveText(["one", "two"]);
  for (const page of [eli, eliSecondTab]) {
    await expect(conversationItem(page, danaName).locator(".unread-badge")).toHaveCount(0);
    await expect.poll(() => page.title()).not.toMatch(/^\(\d+\) /);
  }
  // Dana sees that her newest message was seen, under it only.
  await expect(dana.locator(".message.mine").last().locator(".seen")).toHaveText("Seen");
  await expect(dana.locator(".seen")).toHaveCount(1);

  // While Eli looks at the conversation, new messages are read at once.
  await send(dana, "three");
  await expect(eli.locator(".messages .message-body").last()).toHaveText("three");
  await expect(dana.locator(".message.mine").last().locator(".seen")).toHaveText("Seen");
  // The other tab got "three" too, and the read that cleared it.
  await expect(conversationItem(eliSecondTab, danaName).locator(".conversation-preview")).toHaveText("three");
  await expect(conversationItem(eliSecondTab, danaName).locator(".unread-badge")).toHaveCount(0);
});

test("edits and deletions reach the other person, and the list follows", async ({ browser }) => {
  const finName = uniqueName("fin");
  const gusName = uniqueName("gus");
  const gus = await registerInNewContext(browser, gusName);
  const fin = await registerInNewContext(browser, finName);
  await openWith(fin, gusName);
  await openWith(gus, finName);

  await send(fin, "helo");
  await send(fin, "a mistake");
  await expect(gus.locator(".messages .message-body")).toHaveText(["helo", "a mistake"]);

  // (By position: while edited, its text is in the editor, not the page.)
  const first = fin.locator(".message.mine").first();
  await expect(first.locator(".message-body")).toHaveText("helo");
  // Edit and Delete show only for the message pointed at.
  await expect(first.locator(".message-actions")).toHaveCSS("opacity", "0");
  await first.hover();
  await first.getByRole("button", { name: "Edit" }).click();
  // The editor has the cursor, at the end of the text; Cancel and Save are
  // readable on the bubble's colour; an empty edit is refused on the spot.
  const editor = fin.getByLabel("Edit message");
  await expect(editor).toBeFocused();
  expect(await editor.evaluate((area: HTMLTextAreaElement) => area.selectionStart)).toBe(4);
  const cancel = first.getByRole("button", { name: "Cancel" });
  const [cancelColor, bubbleColor] = await Promise.all([
    cancel.evaluate((element) => getComputedStyle(element).color),
    first.locator(".bubble").evaluate((element) => getComputedStyle(element).backgroundColor),
  ]);
  expect(contrast(cancelColor, bubbleColor)).toBeGreaterThanOrEqual(4.5);
  await expect(first.getByRole("button", { name: "Delete" })).toBeHidden();
  await editor.fill("   ");
  await editor.press("Enter");
  await expect(first.getByRole("alert")).toHaveText("A message cannot be empty: delete it instead.");
  await editor.fill("hello");
  await editor.press("Enter");
  await expect(gus.locator(".message", { hasText: "hello" }).locator(".edited")).toHaveText("edited");
  await expect(fin.locator(".message.mine").first().locator(".message-body")).toHaveText("hello");
  await expect(fin.locator(".composer textarea")).toBeFocused();

  // Deleting asks first; "Keep" keeps the message.
  const mistake = fin.locator(".message.mine", { hasText: "a mistake" });
  await mistake.hover();
  await mistake.getByRole("button", { name: "Delete" }).click();
  await expect(mistake.getByText("Delete for everyone?")).toBeVisible();
  await mistake.getByRole("button", { name: "Keep" }).click();
  await expect(mistake.getByText("Delete for everyone?")).toHaveCount(0);
  await expect(gus.locator(".messages .message-body")).toHaveText(["hello", "a mistake"]);
  await mistake.hover();
  await mistake.getByRole("button", { name: "Delete" }).click();
  await expect(mistake.getByRole("button", { name: "Delete" })).toBeFocused();
  await mistake.getByRole("button", { name: "Delete" }).click();
  await expect(gus.locator(".messages .message-body")).toHaveText(["hello", "Message deleted"]);
  await expect(fin.locator(".messages .message-body")).toHaveText(["hello", "Message deleted"]);
  await expect(conversationItem(gus, finName).locator(".conversation-preview")).toHaveText("Message deleted");
  // A tombstone offers no actions, and stays after a reload.
  await expect(fin.locator(".message.deleted")).toHaveCount(1);
  await expect(fin.locator(".message.deleted .message-body")).toHaveText("Message deleted");
  await expect(fin.locator(".message.deleted").getByRole("button")).toHaveCount(0);
  await gus.reload();
  await expect(gus.locator(".messages .message-body")).toHaveText(["hello", "Message deleted"]);
});

test("'is typing' shows while the other person types, and presence dots follow", async ({ browser }) => {
  const hal = await registerInNewContext(browser, uniqueName("hal"));
  const halName = (await hal.locator(".me-name").textContent())!;
  const ida = await registerInNewContext(browser, uniqueName("ida"));
  const idaName = (await ida.locator(".me-name").textContent())!;
  await openWith(hal, idaName);
  await openWith(ida, halName);
  // From here Ida's page runs its timers on a clock the test moves: the
  // note's fade and the presence refresh happen exactly when the test says,
  // never meanwhile. (Installed, then reloaded, so every timer of the page is
  // on the test's clock.)
  await ida.clock.install();
  await ida.reload();
  await waitForHydration(ida);
  await expect(ida.locator(".conversation-header .presence-dot")).toHaveAttribute("data-status", "online");

  await hal.locator(".composer textarea").pressSequentially("hello th", { delay: 30 });
  await expect(ida.locator(".typing-note")).toHaveText(`${halName} is typing…`);
  // It stays while the clock stands still, and fades 5 s after the last signal.
  await ida.clock.runFor(4_000);
  await expect(ida.locator(".typing-note")).toHaveCount(1);
  await ida.clock.runFor(1_500);
  await expect(ida.locator(".typing-note")).toHaveCount(0);
  // Hal types again (from a fresh page: typing signals are limited per socket
  // and per page), then sends. That ends the note at once: Ida's clock has
  // not moved, so it cannot have faded.
  await hal.reload();
  await waitForHydration(hal);
  await hal.locator(".composer textarea").pressSequentially("hello there", { delay: 30 });
  await expect(ida.locator(".typing-note")).toHaveCount(1);
  await hal.locator(".composer textarea").press("Enter");
  await expect(ida.locator(".messages .message-body")).toHaveText(["hello there"]);
  await expect(ida.locator(".typing-note")).toHaveCount(0);

  // Hal leaves: Ida sees him offline at the next refresh (every 15 s), not before.
  await hal.context().close();
  await expect(ida.locator(".conversation-header .presence-dot")).toHaveAttribute("data-status", "online");
  await ida.clock.runFor(15_000);
  await expect(ida.locator(".conversation-header .presence-dot")).toHaveAttribute("data-status", "offline");
});

test("a browser notification comes for a message whose conversation is not on screen", async ({ browser }) => {
  const kaiName = uniqueName("kai");
  const lou = await registerInNewContext(browser, uniqueName("lou"));
  const louName = (await lou.locator(".me-name").textContent())!;
  const kaiContext = await browser.newContext();
  await kaiContext.grantPermissions(["notifications"]);
  // Record what the page shows through the real Notification API.
  await kaiContext.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body: string }[] = [];
    (window as unknown as { shownNotifications: typeof shown }).shownNotifications = shown;
    window.Notification = class extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        shown.push({ title, body: options?.body ?? "" });
      }
    } as typeof Notification;
  });
  const kai = await kaiContext.newPage();
  const registered = await kai.request.post("/api/v1/auth/register", {
    data: { username: kaiName, password: "correct horse battery" },
  });
  expect(registered.status()).toBe(201);
  await kai.goto("/");
  await waitForHydration(kai);
  const shown = () => kai.evaluate(() => (window as unknown as { shownNotifications: unknown[] }).shownNotifications);

  await openWith(lou, kaiName);
  await send(lou, "ping while you look elsewhere");
  await expect.poll(shown).toEqual([{ title: louName, body: "ping while you look elsewhere" }]);

  // With the conversation on screen, no notification.
  await conversationItem(kai, louName).click();
  await expect(kai.locator(".messages .message-body")).toHaveText(["ping while you look elsewhere"]);
  await send(lou, "now you are here");
  // A notification is decided when a message is fetched, before it is shown:
  // once "now you are here" shows, every earlier decision has been made, so
  // this proves there was no second notification for either message.
  await expect(kai.locator(".messages .message-body").last()).toHaveText("now you are here");
  expect(await shown()).toEqual([{ title: louName, body: "ping while you look elsewhere" }]);
});

test("a user downloads their data, then deletes their account; the other person sees tombstones at once", async ({ browser }) => {
  const jonName = uniqueName("jon");
  const kimName = uniqueName("kim");
  const kim = await registerInNewContext(browser, kimName);
  const jon = await registerInNewContext(browser, jonName);
  await openWith(jon, kimName);
  await openWith(kim, jonName);
  await send(jon, "farewell");
  await send(kim, "see you");
  await expect(kim.locator(".messages .message-body")).toHaveText(["farewell", "see you"]);

  await jon.goto("/settings");
  await waitForHydration(jon);
  const [download] = await Promise.all([
    jon.waitForEvent("download"),
    jon.getByRole("link", { name: "Download my data" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^chatapp-${jonName}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
  const exported = JSON.parse(readFileSync((await download.path())!, "utf8"));
  expect(exported.account.username).toBe(jonName);
  expect(exported.messages.map((m: { body: string }) => m.body)).toEqual(["farewell", "see you"]);

  // The wrong password deletes nothing.
  await jon.locator("#delete_password").fill("not my password");
  await jon.getByRole("button", { name: "Delete my account" }).click();
  await expect(jon.getByRole("alert")).toHaveText("That is not your current password.");
  await jon.locator("#delete_password").fill(PASSWORD);
  await jon.getByRole("button", { name: "Delete my account" }).click();
  await expect(jon).toHaveURL(/\/login\?account=deleted$/);
  await expect(jon.getByRole("status")).toHaveText(/Your account is deleted/);

  // Kim's open conversation shows Jon's words gone, her own kept.
  await expect(kim.locator(".messages .message-body")).toHaveText(["Message deleted", "see you"]);
  await kim.reload();
  await expect(kim.locator(".messages .message-body")).toHaveText(["Message deleted", "see you"]);
});
