// Drives our server with NocoDB's own client, the `nocodb-sdk` npm package, and prints what it got
// back as JSON for tests/compat/test_nocodb_sdk.py to check. Usage: node sdk_check.cjs (env below).
const { Api } = require("nocodb-sdk");

const { BASE_URL, TOKEN, PROJECTS, TASKS, LINK } = process.env;
const api = new Api({ baseURL: BASE_URL, headers: { "xc-token": TOKEN } });
const rows = api.dbDataTableRow;
const links = api.dbDataTableRow;

async function main() {
  const out = {};
  out.list = await rows.list(PROJECTS, {
    where: "(status,eq,active)~and(done,eq,false)",
    sort: "-budget,Id",
    fields: "Id,name,status,budget",
    limit: 5,
  });
  out.created = await rows.create(TASKS, { title: "From the SDK", priority: 3 });
  out.createdMany = await rows.create(TASKS, [{ title: "SDK a" }, { title: "SDK b" }]);
  const id = out.created.Id;
  out.read = await rows.read(TASKS, id, { fields: "Id,title,priority" });
  out.updated = await rows.update(TASKS, { Id: id, priority: 5, done: true });
  out.readAfter = await rows.read(TASKS, id, { fields: "priority,done" });
  out.count = await rows.count(TASKS, { where: "(title,like,%SDK%)" });
  out.linked = await links.nestedLink(PROJECTS, LINK, 1, [{ Id: id }]);
  out.nested = await links.nestedList(PROJECTS, LINK, 1, { fields: "Id,title", where: "(title,eq,From the SDK)" });
  out.unlinked = await links.nestedUnlink(PROJECTS, LINK, 1, [{ Id: id }]);
  out.nestedAfter = await links.nestedList(PROJECTS, LINK, 1, { where: "(title,eq,From the SDK)" });
  out.deleted = await rows.delete(TASKS, [{ Id: id }, ...out.createdMany]);
  out.countAfter = await rows.count(TASKS, { where: "(title,like,%SDK%)" });
  try {
    await rows.list(PROJECTS, { where: "(nope,eq,1)" });
    out.badWhere = "no error";
  } catch (err) {
    out.badWhere = { status: err.response && err.response.status, body: err.response && err.response.data };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.response ? JSON.stringify(err.response.data) : err.stack || err));
  process.exit(1);
});
