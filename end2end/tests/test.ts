/**
 * The suite's `test`: Playwright's, plus a watch on every browser context a
 * test opens for Content-Security-Policy violations. The server sends a
 * strict policy on every page; a test that trips it (an inline script
 * without the nonce, a connection to another origin) fails, so the whole
 * suite proves the app works under that policy.
 */
import { expect, test as base, type BrowserContext } from "@playwright/test";

export * from "@playwright/test";

function watchForPolicyViolations(context: BrowserContext, violations: string[]): void {
  // Chromium reports a refused load on the console; the event catches the
  // rest (and names the directive).
  void context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const watch = (page: import("@playwright/test").Page) =>
    page.on("console", (message) => {
      const text = message.text();
      if (text.includes("Content Security Policy") || text.startsWith("CSP violation")) {
        violations.push(`${page.url()}: ${text}`);
      }
    });
  context.pages().forEach(watch);
  context.on("page", watch);
}

export const test = base.extend<{ policyViolations: string[] }>({
  policyViolations: [
    async ({ browser, context }, use) => {
      const violations: string[] = [];
      watchForPolicyViolations(context, violations);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const opened = await newContext(options);
        watchForPolicyViolations(opened, violations);
        return opened;
      };
      await use(violations);
      browser.newContext = newContext;
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});
