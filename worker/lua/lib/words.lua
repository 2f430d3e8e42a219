-- words(text): a space-separated argument (a list of ids or bounds) as a Lua list.
local function words(text)
  local out = {}
  for word in string.gmatch(text, '%S+') do out[#out + 1] = word end
  return out
end
