-- jaxcraft bridge world mod (shipped with jaxcraft's bridge/adapters/minetest).
--
-- Every server step (globalstep) it
--   1. reads <world>/jx_cmd.txt: "seq\n" then one command per line; a command block is run
--      once, when its seq is new (the Python side writes the file atomically);
--   2. writes <world>/jx_state.txt (atomically) with one line of space-separated fields:
--      step seq ready x y z yaw pitch hp pointed los dug used eye_h
--      step: server steps since start; seq: last command block run; ready: seq of the last
--      finished scene build (emerging is asynchronous); x y z: feet position; yaw pitch:
--      look (radians, Minetest convention); pointed: 1 when the node under the crosshair
--      within `reach` is the target; los: 1 when the ray eye -> target centre (or its top)
--      first hits the target; dug/used: the target was dug / right-clicked this episode.
--
-- Commands:
--   scene <json>            rebuild a box of the world: {"min":[x,y,z],"max":[x,y,z],
--                           "floor":name,"nodes":[[x,y,z,name],...],"target":[x,y,z],"reach":r}
--   pose x y z yaw pitch f  teleport (feet) and set the look; f=1 freezes the player (no
--                           gravity, no speed) for goal-camera captures, f=0 releases it
--   setnode x y z name      swap one node (the mask capture)
local wp = minetest.get_worldpath()
local CMD = wp .. "/jx_cmd.txt"
local STATE = wp .. "/jx_state.txt"

local step, seq, ready = 0, -1, -1
local target, reach = nil, 4.5
local dug, used = 0, 0

local function same(a, b)
  return a and b and a.x == b.x and a.y == b.y and a.z == b.z
end

local function is_target(pos)
  return target ~= nil and same(vector.round(pos), target)
end

-- Task nodes (textures of minetest_game): quick to dig by hand, no formspecs, no light.
local function node(name, tiles, extra)
  local def = {description = name, tiles = tiles, groups = {oddly_breakable_by_hand = 3},
               is_ground_content = false, drop = ""}
  for k, v in pairs(extra or {}) do def[k] = v end
  minetest.register_node("jaxcraft_bridge:" .. name, def)
end
local function used_cb(pos)
  if is_target(pos) then used = 1 end
end
node("diamond_ore", {"default_stone.png^default_mineral_diamond.png"})
node("gold_ore", {"default_stone.png^default_mineral_gold.png"})
node("mese_ore", {"default_stone.png^default_mineral_mese.png"})
node("log", {"default_tree_top.png", "default_tree_top.png", "default_tree.png"})
node("gravel", {"default_gravel.png"})
node("bookshelf", {"default_wood.png", "default_wood.png", "default_bookshelf.png"})
node("chest", {"default_chest_top.png", "default_chest_top.png", "default_chest_side.png",
               "default_chest_side.png", "default_chest_side.png", "default_chest_front.png"},
     {on_rightclick = used_cb})
node("lamp", {"default_meselamp.png"}, {on_rightclick = used_cb})
node("lever", {"default_cobble.png^default_mineral_iron.png"}, {on_rightclick = used_cb})
-- The mask node: one flat colour, same lighting behaviour as the task nodes.
node("mask", {"default_stone.png^[colorize:#ff00ff:255"})

minetest.register_on_dignode(function(pos, oldnode, digger)
  if is_target(pos) then dug = 1 end
end)

local function hide_hud(player)
  player:hud_set_flags({hotbar = false, healthbar = false, crosshair = false, wielditem = false,
                        breathbar = false, minimap = false, minimap_radar = false,
                        basic_debug = false})
  player:set_properties({pointable = false})
  player:set_sky({clouds = false})
  player:set_clouds({density = 0})
  player:override_day_night_ratio(1.0)
end
minetest.register_on_joinplayer(hide_hud)

local function build(spec)
  local vmin, vmax = vector.new(unpack(spec.min)), vector.new(unpack(spec.max))
  local vm = minetest.get_voxel_manip()
  local emin, emax = vm:read_from_map(vmin, vmax)
  local area = VoxelArea:new({MinEdge = emin, MaxEdge = emax})
  local data = vm:get_data()
  local air = minetest.get_content_id("air")
  local floor = minetest.get_content_id(spec.floor)
  for z = vmin.z, vmax.z do
    for y = vmin.y, vmax.y do
      local vi = area:index(vmin.x, y, z)
      for x = vmin.x, vmax.x do
        data[vi] = (y <= 0) and floor or air
        vi = vi + 1
      end
    end
  end
  for _, n in ipairs(spec.nodes) do
    data[area:index(n[1], n[2], n[3])] = minetest.get_content_id(n[4])
  end
  vm:set_data(data)
  vm:write_to_map(true)
  target = vector.new(unpack(spec.target))
  reach = spec.reach or reach
  dug, used = 0, 0
  for _, p in ipairs(minetest.get_connected_players()) do
    p:get_inventory():set_list("main", {})
  end
end

local function run(line)
  local cmd, rest = line:match("^(%S+)%s*(.*)$")
  if cmd == "scene" then
    local spec = minetest.parse_json(rest)
    local my_seq = seq
    minetest.emerge_area(vector.new(unpack(spec.min)), vector.new(unpack(spec.max)),
      function(_, _, remaining)
        if remaining == 0 then build(spec); ready = my_seq end
      end)
  elseif cmd == "pose" then
    local x, y, z, yaw, pitch, f = rest:match("(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)")
    for _, p in ipairs(minetest.get_connected_players()) do
      if f == "1" then
        p:set_physics_override({gravity = 0, speed = 0, jump = 0})
        p:add_velocity(vector.multiply(p:get_velocity(), -1))
      else
        p:set_physics_override({gravity = 1, speed = 1, jump = 1})
      end
      p:set_pos(vector.new(tonumber(x), tonumber(y), tonumber(z)))
      p:set_look_horizontal(tonumber(yaw))
      p:set_look_vertical(tonumber(pitch))
    end
  elseif cmd == "setnode" then
    local x, y, z, name = rest:match("(%S+) (%S+) (%S+) (%S+)")
    minetest.swap_node(vector.new(tonumber(x), tonumber(y), tonumber(z)), {name = name})
  end
end

local function read_commands()
  local f = io.open(CMD, "r")
  if not f then return end
  local text = f:read("*a")
  f:close()
  local first, body = text:match("^(%-?%d+)\n(.*)$")
  local s = tonumber(first)
  if not s or s == seq then return end
  seq = s
  for line in body:gmatch("[^\n]+") do run(line) end
end

local function first_node(from, to)
  for hit in minetest.raycast(from, to, false, false) do
    if hit.type == "node" then return hit.under end
  end
  return nil
end

minetest.register_globalstep(function(dtime)
  step = step + 1
  read_commands()
  local p = minetest.get_connected_players()[1]
  if not p then return end
  local pos = p:get_pos()
  local eye_h = p:get_properties().eye_height
  local eye = vector.add(pos, {x = 0, y = eye_h, z = 0})
  local pointed, los = 0, 0
  if target then
    local hit = first_node(eye, vector.add(eye, vector.multiply(p:get_look_dir(), reach)))
    if same(hit, target) then pointed = 1 end
    local top = vector.add(target, {x = 0, y = 0.45, z = 0})
    if same(first_node(eye, target), target) or same(first_node(eye, top), target) then los = 1 end
  end
  minetest.safe_file_write(STATE, string.format("%d %d %d %.4f %.4f %.4f %.5f %.5f %d %d %d %d %d %.4f\n",
    step, seq, ready, pos.x, pos.y, pos.z, p:get_look_horizontal(), p:get_look_vertical(),
    p:get_hp(), pointed, los, dug, used, eye_h))
end)
