import { expect, type Browser, type Locator, type Page } from "@playwright/test";

let counter = 0;

/** A username no earlier run used (the e2e database is fresh, but be safe). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export const PASSWORD = "correct horse battery";

/** Fails the test on any uncaught error in the page (such as a wasm start-up failure). */
export function watchForPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** Waits until the WASM has hydrated the page (it marks <body> when done). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("body[data-hydrated='true']")).toHaveCount(1);
}

/** Registers through the UI in a fresh browser context; returns its page on the chat. */
export async function registerInNewContext(browser: Browser, username: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/register");
  await waitForHydration(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator(".me-name")).toHaveText(username);
  return page;
}

/** A person's link in the People list (the conversation list links to them too). */
export function personLink(page: Page, username: string): Locator {
  return page.getByRole("navigation", { name: "People" }).getByRole("link", { name: username, exact: true });
}
