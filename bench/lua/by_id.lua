-- GET one project by id, spread over the whole table.
local counter = 0
request = function()
  counter = counter + 1
  local id = (counter * 104729) % 1000000 + 1
  return wrk.format("GET", wrk.path .. "/" .. id)
end
