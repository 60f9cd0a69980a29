-- POST S1's query through GraphQL: 25 active projects, newest first, the same four fields.
local body = '{"query": "{ projects(where: \\"(status,eq,active)\\", sort: \\"-created_at\\", limit: 25) { list { id name status created_at } pageInfo { totalRows next } } }"}'
request = function()
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json", ["xc-token"] = wrk.headers["xc-token"]}, body)
end
