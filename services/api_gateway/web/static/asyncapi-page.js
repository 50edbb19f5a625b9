// Renders /asyncapi.json with the vendored AsyncAPI component: no inline script, so the
// page's Content-Security-Policy allows scripts from the gateway only.
AsyncApiStandalone.render(
  { schema: { url: "/asyncapi.json", requestOptions: {} }, config: { show: { sidebar: true } } },
  document.getElementById("asyncapi"),
);
