import { expect, test, type WebSocketRoute } from "./test";
import { clusterConfigured, clusterNodes } from "./cluster-nodes";
import { PASSWORD, uniqueName, waitForHydration } from "./helpers";

// CI (make test) always configures the cluster; only a bare local run skips.
test.skip(!clusterConfigured && !process.env.CHATAPP_REQUIRE_MARIADB, "two-node cluster not configured");

test("two browsers on two nodes chat live, and a cut socket catches up with since", async ({ browser }) => {
  expect(clusterConfigured, "E2E_CLUSTER_DATABASE_URL and E2E_CLUSTER_REDIS_URL").toBe(true);
  const [nodeA, nodeB] = clusterNodes.map((node) => `http://${node}`);
  const annName = uniqueName("ann");
  const benName = uniqueName("ben");

  const annContext = await browser.newContext({ baseURL: nodeA });
  const benContext = await browser.newContext({ baseURL: nodeB });
  const ann = await annContext.newPage();
  const ben = await benContext.newPage();
  for (const [page, name] of [[ann, annName], [ben, benName]] as const) {
    await page.goto("/register");
    await waitForHydration(page);
    await page.getByLabel("Username").fill(name);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.locator(".me-name")).toHaveText(name);
  }

  // Ben's sockets (to node B) pass through here, so the test can cut them.
  let refusing = false;
  const socketUrls: string[] = [];
  const live: WebSocketRoute[] = [];
  await ben.routeWebSocket(/\/ws(\?|$)/, (socket) => {
    socketUrls.push(socket.url());
    if (refusing) {
      void socket.close({ code: 1006 });
      return;
    }
    socket.connectToServer();
    live.push(socket);
  });

  await ann.goto(`/chat/${benName}`);
  await ben.goto(`/chat/${annName}`);
  for (const page of [ann, ben]) {
    await waitForHydration(page);
    await expect(page.locator(".connection-status")).toHaveAttribute("data-state", "live");
  }
  const bubbles = (page: typeof ann) => page.locator(".messages .message:not(.pending) .message-body");

  // Live both ways across the nodes (through Redis).
  await ann.locator(".composer textarea").fill("hello from node A");
  await ann.locator(".composer textarea").press("Enter");
  await expect(bubbles(ben)).toHaveText(["hello from node A"]);
  await ben.locator(".composer textarea").fill("hello from node B");
  await ben.locator(".composer textarea").press("Enter");
  await expect(bubbles(ann)).toHaveText(["hello from node A", "hello from node B"]);

  // Cut Ben's socket and keep it down while Ann writes three more.
  refusing = true;
  await live[live.length - 1].close();
  await expect(ben.locator(".connection-status")).toHaveText("Reconnecting…");
  for (const body of ["while you were away 1", "while you were away 2", "while you were away 3"]) {
    await ann.locator(".composer textarea").fill(body);
    await ann.locator(".composer textarea").press("Enter");
  }
  await expect(bubbles(ann)).toHaveCount(5);
  await expect(bubbles(ben)).toHaveCount(2);

  // Restored: Ben resumes from the last seq he applied and gets exactly those.
  refusing = false;
  // The backoff between attempts grows to 15 s.
  await expect(ben.locator(".connection-status")).toHaveAttribute("data-state", "live", { timeout: 45_000 });
  await expect(bubbles(ben)).toHaveText([
    "hello from node A",
    "hello from node B",
    "while you were away 1",
    "while you were away 2",
    "while you were away 3",
  ]);
  expect(socketUrls.some((url) => /[?&]since=[1-9]\d*/.test(url))).toBe(true);

  // And live again.
  await ann.locator(".composer textarea").fill("and live again");
  await ann.locator(".composer textarea").press("Enter");
  await expect(bubbles(ben).last()).toHaveText("and live again");
  await expect(bubbles(ben)).toHaveCount(6);

  await annContext.close();
  await benContext.close();
});
