import { expect, test } from "@playwright/test";
import { LoginPage, ProfilePage, SignupPage, hydrated, uniqueUser } from "./fixtures/pages";

test("the sign-up form rates the password as it is typed, and the server refuses a guessable one", async ({ page }) => {
  const signup = new SignupPage(page);
  await signup.goto();
  await hydrated(page);
  const password = signup.field("Password");
  await password.fill("password");
  await expect(page.getByText("Strength: Weak")).toBeVisible();
  await expect(page.getByRole("meter", { name: "Password strength" })).toHaveAttribute("value", /^[01]$/);
  await password.fill("purple monkey dishwasher 42");
  await expect(page.getByText(/Strength: (Good|Strong)/)).toBeVisible();

  await signup.signUp({ ...uniqueUser("weak"), password: "password1234" });
  await expect(page.getByText(/This password is too easy to guess/)).toBeVisible();
  await expect(page).toHaveURL(/\/signup$/);
});

test("log out everywhere ends the sessions of every browser", async ({ browser, page }) => {
  const user = uniqueUser("everywhere");
  await new SignupPage(page).goto();
  await new SignupPage(page).signUp(user);
  await expect(page).toHaveURL(/\/profile$/);

  const otherContext = await browser.newContext();
  const other = await otherContext.newPage();
  await new LoginPage(other).goto();
  await new LoginPage(other).logIn(user.username, user.password);
  await expect(other).toHaveURL(/\/profile$/);

  await hydrated(page);
  await new ProfilePage(page).logOutEverywhere();
  await expect(page).toHaveURL(/\/login/);

  await other.reload();
  await expect(other).toHaveURL(/\/login\?next=%2Fprofile&reason=expired$/);
  await expect(new ProfilePage(other).heading).toHaveCount(0);
  await otherContext.close();
});
