-- wrk script: authenticated GET of the path given on the command line (agent inbox).
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end
