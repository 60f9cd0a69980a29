-- PATCH one project per request, cycling through ids 1..100000.
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 7919) % 100000 + 1
  local body = string.format('{"Id": %d, "priority": %d}', id, counter % 5 + 1)
  return wrk.format("PATCH", wrk.path, {["Content-Type"] = "application/json", ["xc-token"] = wrk.headers["xc-token"]}, body)
end
