// Login: the API token is pasted once and exchanged for the HttpOnly session cookie.
import { api } from "./api.js";

export function showLogin(message = "") {
  document.getElementById("view-login").hidden = false;
  document.getElementById("login-error").textContent = message;
  document.getElementById("token").focus();
}

/** onLoggedIn() runs after the hub set the cookie. */
export function initLogin(onLoggedIn) {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const token = document.getElementById("token").value.trim();
    if (!token) { error.textContent = "Paste an API token first."; return; }
    button.disabled = true;
    try {
      await api("POST", "/session", { token });
      document.getElementById("token").value = "";
      onLoggedIn();
    } catch (err) {
      error.textContent = err.status === 401 ? "That token is unknown or revoked." : `Could not log in: ${err.message}`;
      document.getElementById("token").select();
    } finally {
      button.disabled = false;
    }
  });
}
