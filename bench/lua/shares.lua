-- Shared by the scenarios that hand each wrk thread its own lines of a file: numbers the
-- threads in setup, and gives each thread every BENCH_THREADS-th line from its own index.
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

-- This thread's lines of the file at `path` (the global `index` is set by setup).
function thread_share(path)
  local count = tonumber(os.getenv("BENCH_THREADS"))
  local lines = {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % count == index then
      table.insert(lines, line)
    end
    line_number = line_number + 1
  end
  return lines
end
