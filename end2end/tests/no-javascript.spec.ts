import { expect, test } from "./test";
import { PASSWORD, linkFor, personLink, uniqueName } from "./helpers";

// The server renders every page in full, so reading works before the WASM
// loads, or without it: log in, see people, read a conversation.
test.use({ javaScriptEnabled: false });

test("without JavaScript: log in, see people and read history", async ({ page, playwright, baseURL }) => {
  const lenaName = uniqueName("lena");
  const maxName = uniqueName("max");
  const api = await playwright.request.newContext({ baseURL });
  for (const name of [maxName, lenaName]) {
    const response = await api.post("/api/v1/auth/register", { data: { username: name, password: PASSWORD } });
    expect(response.status()).toBe(201);
  }
  // `api` is now logged in as Lena.
  const sent = await api.post("/api/v1/message/", { data: { recipient: maxName, body: "Readable without JavaScript" } });
  expect(sent.status()).toBe(201);

  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel("Username").fill(maxName);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator(".me-name")).toHaveText(maxName);

  await personLink(page, lenaName).click();
  await expect(page).toHaveURL(new RegExp(`/chat/${lenaName}$`));
  await expect(page.locator(".messages .message-body")).toHaveText(["Readable without JavaScript"]);
  await api.dispose();
});

test("without JavaScript: an e-mailed confirmation link confirms the address", async ({ page, playwright, baseURL }) => {
  const name = uniqueName("noah");
  const address = `${name}@example.org`;
  const api = await playwright.request.newContext({ baseURL });
  const response = await api.post("/api/v1/auth/register", { data: { username: name, password: PASSWORD, email: address } });
  expect(response.status()).toBe(201);
  await expect.poll(() => linkFor(address, "/confirm-email"), { timeout: 30_000 }).not.toBeNull();
  const link = new URL(linkFor(address, "/confirm-email")!);

  await page.goto(link.pathname + link.search);
  await page.getByRole("button", { name: "Confirm this address" }).click();
  await expect(page).toHaveURL(/\/confirm-email\?confirmed=1$/);
  await expect(page.getByRole("status")).toContainText("Your new e-mail address is confirmed");
  const settings = await api.get("/api/v1/auth/settings");
  expect((await settings.json()).email).toBe(address);

  // Used once: the page says why, and how to get a new link.
  await page.goto(link.pathname + link.search);
  await page.getByRole("button", { name: "Confirm this address" }).click();
  await expect(page.getByRole("alert")).toContainText("invalid, already used or expired");
});
