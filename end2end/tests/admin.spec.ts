import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { LoginPage, PASSWORD, ProfilePage, SignupPage, accessibleAndFits, hydrated, uniqueUser } from "./fixtures/pages";

/** A superuser made by the command line on the default server's database, as an operator would. */
function superuser(prefix: string): string {
  const username = uniqueUser(prefix).username;
  const root = resolve(__dirname, "../..");
  execFileSync(process.env.LATCHKEY_BIN ?? join(root, "target/release/latchkey"), [
    "createsuperuser", "--no-input", "--username", username, "--email", `${username}@example.com`,
  ], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      DATA_DIR: join(process.env.E2E_DATA!, "default"),
      LATCHKEY_SUPERUSER_PASSWORD: PASSWORD,
    },
  });
  return username;
}

async function openAccount(page: Page, username: string) {
  await page.goto("/admin");
  await page.getByLabel("Search").fill(username);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("user-row")).toHaveCount(1);
  await page.getByRole("link", { name: username }).click();
  await expect(page.getByRole("heading", { level: 1, name: username })).toBeVisible();
}

test("staff find a user, end their session, deactivate and reactivate them, and see it all in the audit log", async ({ page, browser }) => {
  await page.setViewportSize({ width: 375, height: 800 });
  const admin = superuser("admin");
  const user = uniqueUser("member");
  const theirs = await browser.newContext();
  const theirPage = await theirs.newPage();
  await new SignupPage(theirPage).goto();
  await new SignupPage(theirPage).signUp(user);
  await expect(new ProfilePage(theirPage).heading).toBeVisible();

  await page.goto("/login");
  await new LoginPage(page).logIn(admin, PASSWORD);
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await accessibleAndFits(page);
  await openAccount(page, user.username);
  await hydrated(page);
  await expect(page.getByTestId("session-count")).toHaveText("1 live session(s)");
  await accessibleAndFits(page);
  await page.getByRole("button", { name: /^End the session on/ }).click();
  await expect(page.getByTestId("session-count")).toHaveText("0 live session(s)");
  await theirPage.reload();
  await expect(theirPage).toHaveURL(/\/login\?next=%2Fprofile/);

  await page.getByRole("button", { name: "Deactivate" }).click();
  await expect(page.getByTestId("status")).toContainText("inactive");
  await page.getByRole("button", { name: "Activate" }).click();
  await expect(page.getByTestId("status")).toContainText("active");
  await expect(page.getByTestId("status")).not.toContainText("inactive");

  await page.getByRole("link", { name: "Audit log" }).click();
  const entries = page.getByTestId("audit-entry").filter({ hasText: user.username });
  await expect(entries.filter({ hasText: "user.activate" })).toHaveCount(1);
  await expect(entries.filter({ hasText: "user.deactivate" })).toHaveCount(1);
  await expect(entries.filter({ hasText: "user.session.end" })).toHaveCount(1);
  await expect(entries.first()).toContainText(admin);
  await accessibleAndFits(page);
  await theirs.close();
});

test("the admin site is a 404 to anyone but staff, and works without JavaScript", async ({ page, browser }) => {
  const user = uniqueUser("plain");
  await new SignupPage(page).goto();
  await new SignupPage(page).signUp(user);
  const answer = await page.goto("/admin");
  expect(answer?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  const unknown = await page.goto("/no-such-page");
  expect(unknown?.status()).toBe(404);

  const admin = superuser("nojs");
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noScript.newPage();
  await plain.goto("/login");
  await new LoginPage(plain).logIn(admin, PASSWORD);
  await openAccount(plain, user.username);
  await plain.getByRole("button", { name: "Deactivate" }).click();
  await expect(plain.getByTestId("status")).toContainText("inactive");
  await plain.getByLabel("Type the username to confirm").fill(user.username);
  await plain.getByRole("button", { name: "Delete the account" }).click();
  await expect(plain.getByText("The account was deleted.")).toBeVisible();
  await noScript.close();
});
