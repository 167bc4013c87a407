-- Our offline base map, for tilemaker 2.2 (Debian): which OpenStreetMap features go into which
-- layer of the vector tiles. Layer names follow OpenMapTiles where one fits (water, waterway,
-- transportation, building, poi, place, park, water_name); attributes are few: `class`, `name`
-- (the Chinese name first) and, for places, `rank` (smaller is more important).

node_keys = { "place", "railway" }

-- A feature's name as people here read it: name:zh, else name.
local function Name(obj)
  local zh = obj:Find("name:zh")
  if zh ~= "" then return zh end
  return obj:Find("name")
end

-- place=* → rank and the zoom from which it is shown.
local PLACES = {
  city = { 1, 6 }, town = { 2, 9 }, district = { 2, 9 }, suburb = { 3, 11 },
  village = { 4, 12 }, quarter = { 4, 12 }, neighbourhood = { 5, 13 }, hamlet = { 5, 13 }
}

function node_function(node)
  local name = Name(node)
  if name == "" then return end
  local place = PLACES[node:Find("place")]
  if place then
    node:Layer("place", false)
    node:Attribute("class", node:Find("place"))
    node:Attribute("name", name)
    node:AttributeNumeric("rank", place[1])
    node:MinZoom(place[2])
    return
  end
  -- Railway and metro stations (a bus station is public_transport=station too, but not railway=*).
  local railway = node:Find("railway")
  if railway == "station" or railway == "halt" then
    local subway = node:Find("station") == "subway" or node:Find("subway") == "yes"
    node:Layer("poi", false)
    node:Attribute("class", subway and "subway" or "railway")
    node:Attribute("name", name)
    node:MinZoom(subway and 13 or 10)
  end
end

-- highway=* → our road class and the zoom from which it is shown.
local ROADS = {
  motorway = { "motorway", 6 }, motorway_link = { "motorway", 10 },
  trunk = { "trunk", 7 }, trunk_link = { "trunk", 11 },
  primary = { "primary", 8 }, primary_link = { "primary", 12 },
  secondary = { "secondary", 10 }, secondary_link = { "secondary", 13 },
  tertiary = { "tertiary", 11 }, tertiary_link = { "tertiary", 13 },
  residential = { "minor", 13 }, unclassified = { "minor", 13 }, living_street = { "minor", 13 },
  road = { "minor", 13 }, service = { "service", 14 },
  pedestrian = { "path", 14 }, footway = { "path", 14 }, cycleway = { "path", 14 }, path = { "path", 14 },
  steps = { "path", 14 }, track = { "track", 14 }
}
local RAIL = { rail = 8, subway = 11, light_rail = 11, narrow_gauge = 11, tram = 13 }
local WATER_LANDUSE = { reservoir = true, basin = true }
local WATERWAYS = { river = 9, canal = 10, stream = 13 }
local PARKS = { park = true, garden = true, nature_reserve = true }

function way_function(way)
  local closed = way:IsClosed()
  local highway = way:Find("highway")
  local railway = way:Find("railway")
  local waterway = way:Find("waterway")
  local natural = way:Find("natural")
  local landuse = way:Find("landuse")
  local leisure = way:Find("leisure")

  -- Areas: a closed way or a multipolygon relation (tilemaker hands both to this function).
  local multi = way:Find("type") == "multipolygon"
  if closed or multi then
    if natural == "water" or WATER_LANDUSE[landuse] or waterway == "riverbank" then
      way:Layer("water", true)
      way:Attribute("class", waterway == "riverbank" and "river" or "lake")
      local name = Name(way)
      if name ~= "" then
        way:LayerAsCentroid("water_name")
        way:Attribute("name", name)
        way:Attribute("class", "lake")
      end
      return
    end
    if PARKS[leisure] or landuse == "forest" or natural == "wood" or landuse == "grass" then
      way:Layer("park", true)
      way:Attribute("class", leisure ~= "" and leisure or (landuse ~= "" and landuse or natural))
      return
    end
    if way:Find("building") ~= "" then
      way:Layer("building", true)
      return
    end
  end

  if WATERWAYS[waterway] and not multi then
    way:Layer("waterway", false)
    way:Attribute("class", waterway)
    way:MinZoom(WATERWAYS[waterway])
    return
  end

  local road = ROADS[highway]
  if road and way:Find("area") ~= "yes" then
    way:Layer("transportation", false)
    way:Attribute("class", road[1])
    local name = Name(way)
    if name ~= "" then way:Attribute("name", name) end
    way:MinZoom(road[2])
    return
  end

  if RAIL[railway] then
    way:Layer("transportation", false)
    way:Attribute("class", railway == "rail" and "rail" or "transit")
    way:Attribute("subclass", railway)
    way:MinZoom(RAIL[railway])
  end
end
