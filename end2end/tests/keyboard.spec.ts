import { expect, test } from "@playwright/test";
import { SignupPage, uniqueUser } from "./fixtures/pages";

test("signing up works from the keyboard alone", async ({ page }) => {
  const user = uniqueUser("keyboard");
  const signup = new SignupPage(page);
  await signup.goto();
  await signup.field("Email").focus();
  await page.keyboard.type(user.email);
  await page.keyboard.press("Tab");
  await expect(signup.field("Username")).toBeFocused();
  await page.keyboard.type(user.username);
  await page.keyboard.press("Tab");
  await expect(signup.field("Password")).toBeFocused();
  await page.keyboard.type(user.password);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/profile$/);
});

test("a skip link leads past the header to the content", async ({ page }) => {
  await page.goto("/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/#main$/);
});
