import { expect, test } from "./test";
import { PASSWORD, linkFor, registerInNewContext, uniqueName, waitForHydration } from "./helpers";

test("forgot password: the e-mailed link sets a new password and ends every session", async ({ browser }) => {
  const name = uniqueName("ivy");
  const address = `${name}@example.org`;
  const elsewhere = await browser.newContext();
  const registered = await elsewhere.request.post("/api/v1/auth/register", {
    data: { username: name, password: PASSWORD, email: address },
  });
  expect(registered.status()).toBe(201);
  // The address counts once confirmed by the link mailed to it.
  await expect.poll(() => linkFor(address, "/confirm-email"), { timeout: 30_000 }).not.toBeNull();
  const token = new URL(linkFor(address, "/confirm-email")!).searchParams.get("token");
  const confirmed = await elsewhere.request.post("/api/v1/auth/email/confirm", { data: { token } });
  expect(confirmed.status()).toBe(200);
  const otherDevice = await elsewhere.newPage();
  await otherDevice.goto("/");
  await expect(otherDevice.locator(".me-name")).toHaveText(name);

  const page = await (await browser.newContext()).newPage();
  await page.goto("/login");
  await waitForHydration(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("E-mail address").fill(address);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByRole("status")).toContainText("If an account has this address");

  await expect.poll(() => linkFor(address, "/reset-password"), { timeout: 30_000 }).not.toBeNull();
  const link = new URL(linkFor(address, "/reset-password")!);
  await page.goto(link.pathname + link.search);
  await waitForHydration(page);
  await page.getByLabel("New password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page.getByText("Passwords must be at least")).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill("a completely new secret");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=done$/);
  await expect(page.getByRole("status")).toContainText("Your password is changed");

  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password", { exact: true }).fill("a completely new secret");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator(".me-name")).toHaveText(name);

  // The session on the other device is over.
  await otherDevice.reload();
  await expect(otherDevice).toHaveURL(/\/login$/);

  // The link works once.
  await page.goto(link.pathname + link.search);
  await waitForHydration(page);
  await page.getByLabel("New password", { exact: true }).fill("yet another secret");
  await page.getByRole("button", { name: "Set the password" }).click();
  await expect(page.getByRole("alert")).toContainText("invalid, already used or expired");
});

test("changing the e-mail: the new address counts once its e-mailed link is confirmed", async ({ browser }) => {
  const name = uniqueName("jay");
  const page = await registerInNewContext(browser, name);
  await page.goto("/settings");
  await waitForHydration(page);
  const address = `${name}@example.org`;
  await page.locator("#email").fill(address);
  await page.getByLabel("Current password (to change the e-mail)").fill(PASSWORD);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#email-pending")).toContainText(`We sent a link to ${address}`);
  // Nothing changed yet: a reload still shows the address waiting.
  await page.reload();
  await waitForHydration(page);
  await expect(page.locator("#email")).toHaveValue("");
  await expect(page.locator("#email-pending")).toContainText(address);

  await expect.poll(() => linkFor(address, "/confirm-email"), { timeout: 30_000 }).not.toBeNull();
  const link = new URL(linkFor(address, "/confirm-email")!);
  // The link may be opened anywhere, logged in or not; opening it alone
  // changes nothing (mail scanners open links too).
  const elsewhere = await (await browser.newContext()).newPage();
  await elsewhere.goto(link.pathname + link.search);
  await waitForHydration(elsewhere);
  await page.reload();
  await expect(page.locator("#email-pending")).toContainText(address);
  await elsewhere.getByRole("button", { name: "Confirm this address" }).click();
  await expect(elsewhere).toHaveURL(/\/confirm-email\?confirmed=1$/);
  await expect(elsewhere.getByRole("status")).toContainText("Your new e-mail address is confirmed");

  await page.reload();
  await waitForHydration(page);
  await expect(page.locator("#email")).toHaveValue(address);
  await expect(page.locator("#email-pending")).toHaveCount(0);

  // The link works once.
  await elsewhere.goto(link.pathname + link.search);
  await waitForHydration(elsewhere);
  await elsewhere.getByRole("button", { name: "Confirm this address" }).click();
  await expect(elsewhere.getByRole("alert")).toContainText("invalid, already used or expired");

  // A change with a typo in it can be taken back before its link is used.
  await page.locator("#email").fill(`${name}@exmaple.org`);
  await page.getByLabel("Current password (to change the e-mail)").fill(PASSWORD);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#email-pending")).toContainText(`${name}@exmaple.org`);
  await page.getByRole("button", { name: "Cancel the change" }).click();
  await expect(page.locator("#email-pending")).toHaveCount(0);
  await page.reload();
  await waitForHydration(page);
  await expect(page.locator("#email-pending")).toHaveCount(0);
  await expect(page.locator("#email")).toHaveValue(address);

  // A second change tells the old address, with a link that undoes it and
  // logs everyone out (whoever made it may have the password).
  await page.locator("#email").fill(`${name}.new@example.org`);
  await page.getByLabel("Current password (to change the e-mail)").fill(PASSWORD);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#email-pending")).toContainText(`${name}.new@example.org`);
  // The form shows the account as it is again: the address that counts.
  await expect(page.locator("#email")).toHaveValue(address);
  await expect(page.getByLabel("Current password (to change the e-mail)")).toHaveValue("");
  await expect.poll(() => linkFor(address, "/confirm-email"), { timeout: 30_000 }).not.toBe(link.href);
  const undo = new URL(linkFor(address, "/confirm-email")!);
  await elsewhere.goto(undo.pathname + undo.search);
  await waitForHydration(elsewhere);
  await elsewhere.getByRole("button", { name: "Confirm this address" }).click();
  await expect(elsewhere).toHaveURL(/\/confirm-email\?restored=1$/);
  await expect(elsewhere.getByRole("status")).toContainText("Your address is back, and everyone is logged out");
  await page.reload();
  await expect(page).toHaveURL(/\/login$/);
});
