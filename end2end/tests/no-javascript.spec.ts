import { expect, test } from "./test";
import { PASSWORD, personLink, uniqueName } from "./helpers";

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
