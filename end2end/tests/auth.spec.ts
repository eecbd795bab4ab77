import { expect, test } from "./test";
import { PASSWORD, registerInNewContext, uniqueName, waitForHydration } from "./helpers";

test("a logged-out visit to the chat page lands on log in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "ChatApp" })).toBeVisible();
  await page.goto("/chat/someone");
  await expect(page).toHaveURL(/\/login$/);
});

test("registration explains what is wrong, then logs in; log out and back in", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/register");
  await waitForHydration(page);
  const username = uniqueName("erin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Passwords must be at least 8 characters long.")).toBeVisible();

  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator(".me-name")).toHaveText(username);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);

  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill("wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password.");
  // The refused password is selected, ready to be typed again.
  const password = page.getByLabel("Password", { exact: true });
  await expect(password).toBeFocused();
  expect(await password.evaluate((input: HTMLInputElement) => input.selectionEnd! - input.selectionStart!)).toBe(14);
  await password.fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.locator(".me-name")).toHaveText(username);
  await context.close();
});

test("a taken username is reported", async ({ browser }) => {
  const username = uniqueName("frank");
  const first = await registerInNewContext(browser, username);
  await first.context().close();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/register");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username.toUpperCase());
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("This username is taken.")).toBeVisible();
  await context.close();
});
