// What the page knows of the signed-in user, shared by its modules.

export const state = {
  token: sessionStorage.getItem("token"),
  claims: null, // the token's payload, decoded for display and its expiry only
  permissions: new Set(),
  writable: true,
  units: [], // the OUs the user may choose
  unorganized: false, // whether Unorganized is one of them
  view: "numbers",
};

export const PERMISSION = {
  add: "caller_number:add",
  import: "caller_number:import",
  edit: "caller_number:edit",
  delete: "caller_number:delete",
};

export const may = (permission) => state.permissions.has(permission);
