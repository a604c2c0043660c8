-- The photo site's page mix for wrk (scalelab bench --tool wrk): front page,
-- users' pages (popular users far more often: a log-uniform rank, close to
-- Zipf with s = 1), photo pages and tag pages, in the shares of the
-- built-in workload's default mix. Unlike the built-in workload it fetches
-- no images and never logs in: wrk sends one request per "page view".
-- SCALELAB_USERS and SCALELAB_PHOTOS give the dataset's size.
local users = tonumber(os.getenv("SCALELAB_USERS") or "100000")
local photos = tonumber(os.getenv("SCALELAB_PHOTOS") or "1500000")
local tags = {"sunset", "beach", "cat", "dog", "city", "night", "mountain", "food", "family", "travel"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(1000 + (id or 0))
end

function request()
  local r = math.random()
  local path
  if r < 0.10 then
    path = "/"
  elseif r < 0.50 then
    local rank = math.floor(users ^ math.random())
    if rank < 1 then rank = 1 end
    path = string.format("/u/user%06d", rank)
  elseif r < 0.85 then
    path = "/p/" .. math.random(1, photos)
  else
    path = "/t/" .. tags[math.random(1, #tags)]
  end
  return wrk.format("GET", path)
end
